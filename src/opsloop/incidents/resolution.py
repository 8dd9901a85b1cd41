"""The resolution record of an incident: how it was detected, diagnosed, resolved, verified,
and what follows. Stored as one JSON document; validated here on every write. Pure.

Time to detect and time to resolve are not stored: they are computed from the incident's times
(:func:`durations`), so editing a time never leaves a stale figure behind.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, ValidationError

from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import PLAIN_PATTERN, Schema
from opsloop.incidents.vocabulary import DetectionMethod

Text = Annotated[str, StringConstraints(pattern=PLAIN_PATTERN, max_length=10_000)]
Line = Annotated[str, StringConstraints(pattern=PLAIN_PATTERN, min_length=1, max_length=500)]


class _Part(Schema):
    model_config = ConfigDict(extra="forbid")


class Detection(_Part):
    how: DetectionMethod | None = Field(
        default=None, description="the incident's detection method when not given"
    )
    notes: Text = ""


class Diagnosis(_Part):
    root_cause: Text = ""
    contributing_factors: list[Line] = Field(default_factory=list, max_length=50)


class Fix(_Part):
    fix_applied: Text = ""


class Verification(_Part):
    service_restored: bool = False
    metrics_normalised: bool = False
    user_confirmation: bool = False


class FollowUp(_Part):
    postmortem_scheduled: bool = False
    action_items_created: bool = False
    communication_sent: bool = False


class ResolutionRecord(_Part):
    detection: Detection = Field(default_factory=Detection)
    diagnosis: Diagnosis = Field(default_factory=Diagnosis)
    resolution: Fix = Field(default_factory=Fix)
    verification: Verification = Field(default_factory=Verification)
    follow_up: FollowUp = Field(default_factory=FollowUp)


def parse_record(value: Any, *, field: str = "resolution") -> ResolutionRecord:
    """A record from JSON-like data, or ValidationFailed naming the first bad field."""
    try:
        return ResolutionRecord.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        name = f"{field}.{where}" if where else field
        raise ValidationFailed(f"{name}: {first['msg']}", field=name) from None


def load_record(raw: str) -> ResolutionRecord:
    return ResolutionRecord.model_validate_json(raw or "{}")


def durations(
    *, started: datetime, detected: datetime, resolved: datetime | None
) -> dict[str, float | None]:
    """Time to detect and time to resolve in minutes (None while unresolved)."""
    return {
        "time_to_detect_minutes": (detected - started).total_seconds() / 60,
        "time_to_resolve_minutes": (
            None if resolved is None else (resolved - started).total_seconds() / 60
        ),
    }
