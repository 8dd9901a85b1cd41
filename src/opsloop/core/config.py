"""Settings from ``OPSLOOP_*`` environment variables and an optional YAML or TOML file.

Precedence, highest first: explicit arguments, environment, config file, defaults. The file is
named by ``OPSLOOP_CONFIG_FILE`` so that a deployment can keep secrets in the environment and
everything else in a reviewed file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
    YamlConfigSettingsSource,
)

from opsloop.core.errors import ConfigError

ENV_PREFIX = "OPSLOOP_"
#: One severity's rule in the alerting standard: how soon to respond, and how.
LABEL_LIST = r"^[a-zA-Z_][a-zA-Z0-9_]*(,[a-zA-Z_][a-zA-Z0-9_]*)*$"
ALERT_RULE = re.compile(r"([1-9][0-9]{0,4}[mh]|next-business-day) (page|ticket)")
CATEGORY = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def _default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "opsloop"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    secret_key: SecretStr = SecretStr("")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
    cookie_secure: bool = False
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    demo_data: bool = False
    admin_password: SecretStr = SecretStr("")
    prometheus_url: str = ""
    scheduler_enabled: bool = True
    slo_evaluation_interval_seconds: int = Field(default=60, ge=5, le=3600)
    #: How often a serving process hands freed heap memory back to the system (opsloop.core.memory);
    #: 0 never does.
    memory_trim_seconds: float = Field(default=10.0, ge=0, le=3600)
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_address: int = Field(default=20, ge=1, le=100_000)
    login_lockout_seconds: int = Field(default=30, ge=1, le=86_400)
    login_max_lockout_seconds: int = Field(default=900, ge=1, le=7 * 86_400)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_push_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    request_read_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    #: Where people reach this server; links in notifications are built from it.
    public_url: str = "http://127.0.0.1:8080"
    #: Encrypts notification secrets at rest (see opsloop.notifications.crypto); kept outside
    #: the database so that a copy of the database alone does not give the secrets away.
    notification_key: SecretStr = SecretStr("")
    notifications_allow_private_targets: bool = False
    notification_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    notification_retry_base_seconds: float = Field(default=10.0, gt=0, le=86_400)
    notification_retry_cap_seconds: float = Field(default=3600.0, gt=0, le=7 * 86_400)
    notification_max_attempts: int = Field(default=8, ge=1, le=100)
    notification_secret_grace_hours: float = Field(default=24.0, ge=0, le=24 * 30)
    notification_delivery_threads: int = Field(default=2, ge=1, le=32)
    notification_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # Minutes to acknowledge an incident per severity, e.g. {"SEV1": 10}; unnamed ones keep
    # their defaults (15 min, 1 h, 4 h, 24 h).
    incident_response_targets: dict[str, int] = Field(default_factory=dict)
    #: Reliability targets, met when the mean time to resolve is below the first and the mean
    #: time between failures above the second (hours).
    reliability_mttr_target_hours: float = Field(default=4.0, gt=0, le=24 * 366)
    reliability_mtbf_target_hours: float = Field(default=720.0, gt=0, le=24 * 366 * 10)
    #: An SLO-declared SEV2 whose page alert still fires this long after becomes SEV1.
    incident_escalate_after_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    #: Severities whose incidents need a post-incident review (comma-separated).
    pir_required_severities: str = Field(
        default="SEV1,SEV2", pattern=r"(?i)^\s*((SEV)?[1-4])?\s*(,\s*(SEV)?[1-4]\s*)*$"
    )
    #: A required review is due this many hours after its incident was resolved.
    pir_due_hours: int = Field(default=48, ge=1, le=24 * 365)
    #: An open action item overdue by this many days is escalated to its owner's team lead,
    #: and again at twice and three times as many.
    action_escalate_after_days: int = Field(default=3, ge=1, le=365)
    #: Change categories beyond infrastructure, application, database, configuration, security.
    change_categories: list[str] = Field(default_factory=list)
    #: CAB approvals a change needs per risk level over the defaults, e.g. {"high": 3}.
    change_approvals: dict[str, int] = Field(default_factory=dict)
    #: Hours after its start by which an emergency change must be approved.
    change_emergency_approval_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    #: Verification fails a change whose error ratio after exceeds the one before by more
    #: than this share (0.5: +50 %) and burns budget faster than the threshold below.
    change_verify_tolerance: float = Field(default=0.5, ge=0, le=100)
    change_verify_burn_threshold: float = Field(default=2.0, gt=0, le=1000)
    #: Alert labels naming an alert's service, tried in order (comma-separated).
    alert_service_labels: str = Field(default="service,job", pattern=LABEL_LIST)
    #: The alerting standard by severity label, over the defaults: JSON such as
    #: ``{"critical": "5m page", "low": "next-business-day ticket"}``.
    alert_standard: dict[str, str] = Field(default_factory=dict)
    #: The alert review calls a label set flapping when it fires more than this many times
    #: within the window below.
    alert_review_flap_cycles: int = Field(default=3, ge=1, le=1000)
    alert_review_flap_window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    #: Actionable shares below which an alert is "tune or remove", and at or above which a
    #: recurring one (at least ``recurring`` times in the period) is "automate".
    alert_review_rarely_actionable: float = Field(default=0.5, ge=0, le=1)
    alert_review_always_actionable: float = Field(default=0.9, ge=0, le=1)
    alert_review_recurring: int = Field(default=3, ge=1, le=100_000)
    #: Below this share of instances with a verdict the review asks for feedback first.
    alert_review_min_reviewed: float = Field(default=0.5, ge=0, le=1)
    #: Alertmanager's base URL (e.g. http://alertmanager:9093), for silences; empty: none.
    alertmanager_url: str = ""
    alertmanager_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(f"{ENV_PREFIX}CONFIG_FILE")
        if config_file:
            path = Path(config_file)
            if not path.is_file():
                raise ConfigError(f"{ENV_PREFIX}CONFIG_FILE: no such file {config_file}")
            if path.suffix == ".toml":
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
            elif path.suffix in {".yaml", ".yml"}:
                sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
            else:
                raise ConfigError(f"{ENV_PREFIX}CONFIG_FILE: use a .toml, .yaml or .yml file")
        return tuple(sources)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            # psycopg 3 is the one PostgreSQL driver opsloop ships with
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("alert_standard")
    @classmethod
    def _alert_standard(cls, value: dict[str, str]) -> dict[str, str]:
        for severity, rule in value.items():
            if not ALERT_RULE.fullmatch(rule):
                raise ValueError(
                    f"{severity}: {rule!r} is not '<minutes>m|<hours>h|next-business-day' "
                    "followed by 'page' or 'ticket'"
                )
        return value

    @field_validator("alertmanager_url")
    @classmethod
    def _alertmanager_url(cls, value: str) -> str:
        if value and (
            urlsplit(value).scheme not in {"http", "https"} or not urlsplit(value).hostname
        ):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("incident_response_targets")
    @classmethod
    def _known_severities(cls, value: dict[str, int]) -> dict[str, int]:
        tidy: dict[str, int] = {}
        for name, minutes in value.items():
            severity = name.strip().upper()
            if severity not in {"SEV1", "SEV2", "SEV3", "SEV4"}:
                raise ValueError(f"{name!r} is not a severity; use SEV1, SEV2, SEV3 or SEV4")
            if minutes <= 0:
                raise ValueError(f"{name}: a whole number of minutes above 0")
            tidy[severity] = minutes
        return tidy

    @field_validator("change_approvals")
    @classmethod
    def _known_risks(cls, value: dict[str, int]) -> dict[str, int]:
        tidy: dict[str, int] = {}
        for name, count in value.items():
            risk = name.strip().lower()
            if risk not in {"low", "medium", "high"}:
                raise ValueError(f"{name!r} is not a risk level; use low, medium or high")
            if count < 1:
                raise ValueError(f"{name}: a whole number of approvals, at least 1")
            tidy[risk] = count
        return tidy

    @field_validator("change_categories")
    @classmethod
    def _category_names(cls, value: list[str]) -> list[str]:
        tidy = [name.strip().lower() for name in value if name.strip()]
        for name in tidy:
            if not CATEGORY.fullmatch(name):
                raise ValueError(f"{name!r}: lower-case letters, digits, - and _, at most 32")
        return tidy

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{(self.data_dir / 'opsloop.db').as_posix()}"
            )
        return self

    def masked(self) -> dict[str, Any]:
        """Effective settings as shown to operators: secrets and URL passwords hidden.

        An unset secret or URL is None, so that "not set" and "set but hidden" differ.
        """
        shown: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                shown[name] = "********" if value.get_secret_value() else None
            elif name.endswith("_url") and isinstance(value, str):
                shown[name] = mask_url_password(value) if value else None
            else:
                shown[name] = str(value) if isinstance(value, Path) else value
        return shown


def mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":********@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def load_settings(**overrides: Any) -> Settings:
    """Build settings or raise ConfigError naming the first bad setting in one line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        name = f"{ENV_PREFIX}{field.upper()}" if field != "settings" else field
        raise ConfigError(f"invalid setting {name}: {first['msg']}") from None
