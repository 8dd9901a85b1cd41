"""The fixed words of an incident record: how it was detected, the kinds of timeline events,
who a status update is for, and the timed fields people may edit. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import TypeVar

from opsloop.core.errors import ValidationFailed
from opsloop.incidents.rules import Severity

E = TypeVar("E", bound=StrEnum)


class DetectionMethod(StrEnum):
    alert = "alert"
    user_report = "user_report"
    monitoring = "monitoring"
    other = "other"


class EventKind(StrEnum):
    detection = "detection"
    response = "response"
    escalation = "escalation"
    mitigation = "mitigation"
    communication = "communication"
    resolution = "resolution"
    note = "note"


class Audience(StrEnum):
    internal = "internal"
    external = "external"


class Role(StrEnum):
    """The people who run an incident (opsloop users)."""

    commander = "commander"
    communications_lead = "communications_lead"
    scribe = "scribe"


#: Times an incident keeps, in the order they normally happen.
TIME_FIELDS = (
    "started_at",
    "detected_at",
    "declared_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
)

#: How soon the next status update is due when an update does not say, per severity.
DEFAULT_UPDATE_INTERVALS: Mapping[Severity, timedelta] = {
    Severity.SEV1: timedelta(minutes=30),
    Severity.SEV2: timedelta(hours=1),
    Severity.SEV3: timedelta(hours=4),
    Severity.SEV4: timedelta(hours=24),
}


def parse_choice(kind: type[E], value: str, field: str) -> E:
    """A member of ``kind`` by value, or ValidationFailed naming the field and the choices."""
    try:
        return kind(value.strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValidationFailed(
            f"{field}: unknown value {value!r}; use one of {allowed}", field=field
        ) from None
