"""API input and output of routing rules and silences."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from opsloop.alerts.routing_rules import MAX_NAME, RuleView
from opsloop.alerts.silences import MAX_COMMENT, SilenceView
from opsloop.core.schemas import Schema


class RuleIn(Schema):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    matchers: str = Field(
        max_length=4000, description='Alertmanager matchers, e.g. {severity=~"critical|high"}'
    )
    action: Literal["declare", "attach"]
    severity: str = Field(
        default="SEV3", max_length=8, description="of a declared incident (SEV1-SEV4)"
    )
    name: str = Field(default="", max_length=MAX_NAME)
    fallback_declare: bool = Field(
        default=False, description="attach rules: declare when the service has none open"
    )
    continue_matching: bool = Field(
        default=False,
        alias="continue",
        description="when this rule puts the alert in no incident, try the next rules",
    )
    position: int | None = Field(default=None, ge=1, description="1 = tried first")


class RulePatch(Schema):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    matchers: str | None = Field(default=None, max_length=4000)
    action: Literal["declare", "attach"] | None = None
    severity: str | None = Field(default=None, max_length=8)
    name: str | None = Field(default=None, max_length=MAX_NAME)
    fallback_declare: bool | None = None
    continue_matching: bool | None = Field(default=None, alias="continue")
    position: int | None = Field(default=None, ge=1)

    def changes(self) -> dict[str, object]:
        given = self.model_dump(exclude_unset=True, by_alias=True)
        return {k: v for k, v in given.items() if v is not None}


class RuleOut(Schema):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    position: int
    name: str
    matchers: str
    action: str
    severity: str
    fallback_declare: bool
    continue_matching: bool = Field(serialization_alias="continue")
    created_by: str

    @classmethod
    def of(cls, rule: RuleView) -> RuleOut:
        return cls(
            id=rule.id,
            position=rule.position,
            name=rule.name,
            matchers=rule.matcher_text,
            action=rule.action.value,
            severity=rule.severity.value,
            fallback_declare=rule.fallback_declare,
            continue_matching=rule.continue_matching,
            created_by=rule.created_by,
        )


class RouteTestIn(Schema):
    model_config = ConfigDict(extra="forbid")

    labels: dict[str, str] = Field(description="an alert's labels")


class RouteTestOut(Schema):
    matched: list[RuleOut] = Field(description="the rules tried for these labels, in order")


class SilenceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    matchers: list[str] = Field(min_length=1, max_length=50)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=366 * 24 * 60)
    comment: str = Field(max_length=MAX_COMMENT)


class SilenceOut(Schema):
    id: int
    alertmanager_id: str
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    created_at: datetime
    comment: str
    state: Literal["pending", "active", "expired"]
    expired_at: datetime | None
    expired_by: str | None
    alertmanager_state: str | None = Field(
        default=None, description="what Alertmanager says now, when asked with live=true"
    )

    @classmethod
    def of(cls, view: SilenceView) -> SilenceOut:
        return cls.model_validate(vars(view))
