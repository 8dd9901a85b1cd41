"""The rules of an incident's life: severities and their response targets, the status order and
which moves it allows, and incident keys. Pure: no clock, database or network.

Severities (the definitions teams declare by):

- SEV1: complete outage, all users affected. Respond within 15 minutes.
- SEV2: major impact, most users affected. Respond within 1 hour.
- SEV3: moderate impact, some users affected. Respond within 4 hours.
- SEV4: minor impact, few users affected. Respond within 24 hours.

The targets are defaults; deployments configure their own (:func:`response_targets`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from opsloop.core.errors import Conflict, ValidationFailed


class Severity(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def rank(self) -> int:
        """1 is the most severe."""
        return int(self.value[3])

    @property
    def definition(self) -> str:
        return SEVERITY_DEFINITIONS[self]


SEVERITY_DEFINITIONS: Mapping[Severity, str] = {
    Severity.SEV1: "complete outage, all users affected",
    Severity.SEV2: "major impact, most users affected",
    Severity.SEV3: "moderate impact, some users affected",
    Severity.SEV4: "minor impact, few users affected",
}
DEFAULT_RESPONSE_TARGETS: Mapping[Severity, timedelta] = {
    Severity.SEV1: timedelta(minutes=15),
    Severity.SEV2: timedelta(hours=1),
    Severity.SEV3: timedelta(hours=4),
    Severity.SEV4: timedelta(hours=24),
}


def parse_severity(value: str, *, field: str = "severity") -> Severity:
    """``SEV2``, ``sev2`` or ``2``; anything else is refused naming the allowed values."""
    text = value.strip().upper()
    if text.isdigit():
        text = f"SEV{text}"
    try:
        return Severity(text)
    except ValueError:
        allowed = ", ".join(s.value for s in Severity)
        raise ValidationFailed(
            f"{field}: unknown severity {value!r}; use one of {allowed}", field=field
        ) from None


def response_targets(overrides: Mapping[str, int] | None = None) -> dict[Severity, timedelta]:
    """The response target of every severity: the defaults, with ``overrides`` (minutes per
    severity name) applied."""
    targets = dict(DEFAULT_RESPONSE_TARGETS)
    for name, minutes in (overrides or {}).items():
        severity = parse_severity(name, field=f"response_targets.{name}")
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
            raise ValidationFailed(
                f"response_targets.{name}: a whole number of minutes above 0",
                field=f"response_targets.{name}",
            )
        targets[severity] = timedelta(minutes=minutes)
    return targets


class Status(StrEnum):
    investigating = "investigating"
    identified = "identified"
    mitigating = "mitigating"
    monitoring = "monitoring"
    resolved = "resolved"
    closed = "closed"

    @property
    def order(self) -> int:
        return _ORDER[self]

    @property
    def is_open(self) -> bool:
        return self.order < _ORDER[Status.resolved]


_ORDER = {status: index for index, status in enumerate(Status)}


@dataclass(frozen=True)
class Move:
    """An allowed change of status. ``reopened``: back from resolved or closed to an open
    status, which the timeline records as such."""

    before: Status
    after: Status
    reopened: bool


def check_move(before: Status, after: Status) -> Move:
    """A move forward (skipping states is allowed), or a reopening; any other move backward is
    refused (409), as is staying put."""
    if after == before:
        raise Conflict(f"the incident is already {before.value}", field="status")
    if after.order > before.order:
        return Move(before, after, reopened=False)
    if not before.is_open and after.is_open:
        return Move(before, after, reopened=True)
    raise Conflict(
        f"cannot move an incident back from {before.value} to {after.value}; "
        "only a resolved or closed incident can be reopened",
        field="status",
    )


KEY_PATTERN = re.compile(r"^INC-(\d{4})-(\d{3,})$")


def incident_key(year: int, number: int) -> str:
    """``INC-2026-007``: at least three digits, more once a year has over 999 incidents."""
    return f"INC-{year:04d}-{number:03d}"


def parse_key(key: str) -> tuple[int, int]:
    found = KEY_PATTERN.match(key.strip().upper())
    if found is None:
        raise ValidationFailed(f"not an incident key: {key!r} (like INC-2026-001)", field="key")
    return int(found.group(1)), int(found.group(2))


def response_due(
    severity: Severity, declared: datetime, targets: Mapping[Severity, timedelta]
) -> datetime:
    """When acknowledgement is due: the severity's target after the incident was declared."""
    return declared + targets[severity]


def responded_late(
    severity: Severity,
    declared: datetime,
    acknowledged: datetime | None,
    now: datetime,
    targets: Mapping[Severity, timedelta],
) -> bool:
    """Acknowledged after the target, or still not acknowledged once it has passed."""
    due = response_due(severity, declared, targets)
    return (acknowledged if acknowledged is not None else now) > due
