"""Alertmanager's webhook payload (version 4), as it arrives: checked whole before anything is
stored. Keys that newer Alertmanager versions add are ignored; a firing alert's ``endsAt`` is
Go's zero time, which means "not ended" rather than a date in year 1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from opsloop.core.schemas import Schema

#: Go's zero ``time.Time`` as Alertmanager sends it for an alert that has not ended.
ZERO_TIME_YEAR = 1
MAX_ALERTS = 10_000
MAX_LABELS = 100
MAX_TEXT = 64 * 1024


class _Lenient(Schema):
    # Alertmanager may add keys in any release; a receiver that refused them would drop alerts.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _bounded(values: dict[str, str], what: str) -> dict[str, str]:
    if len(values) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} {what}")
    for key, value in values.items():
        if len(key) > 1024 or len(value) > MAX_TEXT:
            raise ValueError(f"{what} {key[:40]!r} is too long")
    return values


class AlertIn(_Lenient):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL", max_length=MAX_TEXT)
    fingerprint: str = Field(min_length=1, max_length=64)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        if "alertname" not in value:
            raise ValueError("an alert needs the alertname label")
        return _bounded(value, "labels")

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, value: dict[str, str]) -> dict[str, str]:
        return _bounded(value, "annotations")

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("needs a time zone (Alertmanager sends RFC 3339)")
        return value

    @property
    def ended_at(self) -> datetime | None:
        """When the alert ended: None while it fires (zero time) or when not said."""
        if self.ends_at is None or self.ends_at.year == ZERO_TIME_YEAR:
            return None
        return self.ends_at

    @property
    def name(self) -> str:
        return self.labels["alertname"]


class WebhookIn(_Lenient):
    version: str = "4"
    receiver: str = Field(default="", max_length=1024)
    status: Literal["firing", "resolved"]
    group_key: str = Field(default="", alias="groupKey", max_length=MAX_TEXT)
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL", max_length=MAX_TEXT)
    alerts: list[AlertIn] = Field(min_length=1, max_length=MAX_ALERTS)

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value != "4":
            raise ValueError(f"webhook payload version {value!r}; opsloop reads version 4")
        return value
