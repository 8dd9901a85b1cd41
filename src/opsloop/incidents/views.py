"""What readers of an incident get: its fields, services and SLOs, and the states computed
from the clock (response target met or missed, next status update overdue)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.incidents.models import Incident, IncidentService, IncidentSLO
from opsloop.incidents.resolution import ResolutionRecord, durations, load_record
from opsloop.incidents.rules import Severity, Status, response_due
from opsloop.incidents.vocabulary import DetectionMethod

#: met: acknowledged in time; late: acknowledged after the target; pending: not yet, still in
#: time; overdue: not acknowledged and the target has passed.
ResponseState = Literal["met", "late", "pending", "overdue"]


#: How each response state reads, in the CLI and on the pages.
RESPONSE_TEXT = {
    "met": "acknowledged in time",
    "late": "acknowledged late",
    "pending": "awaiting acknowledgement",
    "overdue": "unacknowledged past target",
}


@dataclass(frozen=True)
class IncidentView:
    id: int
    key: str
    title: str
    summary: str
    severity: Severity
    status: Status
    detection_method: DetectionMethod
    commander: str | None
    communications_lead: str | None
    scribe: str | None
    services: tuple[str, ...]
    slos: tuple[str, ...]
    users_affected: int | None
    features_impacted: tuple[str, ...]
    revenue_impact: str
    started_at: datetime
    detected_at: datetime
    declared_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    next_update_at: datetime | None
    declared_by: str
    updated_at: datetime
    response_due_at: datetime
    response_state: ResponseState
    update_overdue: bool
    caused_by_change: str | None = None
    #: The stored resolution record (JSON), read into ``resolution`` when asked for.
    resolution_json: str = field(default="{}", repr=False)

    @cached_property
    def resolution(self) -> ResolutionRecord:
        # Parsed on first use: lists and summaries never show it, and reading its five parts
        # into models cost about as much as the rest of a list row.
        return load_record(self.resolution_json)

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def severity_definition(self) -> str:
        return self.severity.definition

    def durations(self) -> dict[str, float | None]:
        return durations(
            started=self.started_at, detected=self.detected_at, resolved=self.resolved_at
        )

    def fields(self) -> dict[str, Any]:
        """What the audit trail records of an incident."""
        values: dict[str, Any] = {
            "title": self.title,
            "summary": self.summary,
            "severity": self.severity.value,
            "status": self.status.value,
            "detection_method": self.detection_method.value,
            "commander": self.commander,
            "communications_lead": self.communications_lead,
            "scribe": self.scribe,
            "services": list(self.services),
            "slos": list(self.slos),
            "users_affected": self.users_affected,
            "features_impacted": list(self.features_impacted),
            "revenue_impact": self.revenue_impact,
            "caused_by_change": self.caused_by_change,
        }
        for name in (
            "started_at",
            "detected_at",
            "declared_at",
            "acknowledged_at",
            "mitigated_at",
            "resolved_at",
            "closed_at",
        ):
            moment = getattr(self, name)
            values[name] = moment.isoformat() if moment else None
        return values


def response_of(
    severity: Severity,
    declared_at: datetime,
    acknowledged_at: datetime | None,
    now: datetime,
    targets: Mapping[Severity, timedelta],
) -> tuple[datetime, ResponseState]:
    """When acknowledgement is due, and how the incident stands against that."""
    due = response_due(severity, declared_at, targets)
    if acknowledged_at is not None:
        return due, "late" if acknowledged_at > due else "met"
    return due, "overdue" if now > due else "pending"


def response_state(
    row: Incident, now: datetime, targets: Mapping[Severity, timedelta]
) -> tuple[datetime, ResponseState]:
    return response_of(row.severity, row.declared_at, row.acknowledged_at, now, targets)


def is_update_overdue(status: Status, next_update_at: datetime | None, now: datetime) -> bool:
    """An open incident whose last status update promised the next one by now."""
    return status.is_open and next_update_at is not None and now > next_update_at


#: The smallest step of a stored time: "now > t" first holds at t plus this.
_TICK = timedelta(microseconds=1)


def states_change_at(
    severity: Severity,
    declared_at: datetime,
    acknowledged_at: datetime | None,
    status: Status,
    next_update_at: datetime | None,
    now: datetime,
    targets: Mapping[Severity, timedelta],
) -> datetime | None:
    """The first instant after ``now`` at which :func:`response_of` or
    :func:`is_update_overdue` would answer differently for these values (None: never), so that
    an answer showing them is not kept past it."""
    found: list[datetime] = []
    if acknowledged_at is None:
        due = response_due(severity, declared_at, targets)
        if now <= due:  # pending until now > due
            found.append(due + _TICK)
    if status.is_open and next_update_at is not None and now <= next_update_at:
        found.append(next_update_at + _TICK)
    return min(found, default=None)


def update_overdue(row: Incident, now: datetime) -> bool:
    return is_update_overdue(row.status, row.next_update_at, now)


def build(
    row: Incident,
    *,
    services: Sequence[str],
    slos: Sequence[str],
    now: datetime,
    targets: Mapping[Severity, timedelta],
) -> IncidentView:
    due, state = response_state(row, now, targets)
    return IncidentView(
        id=row.id,
        key=row.key,
        title=row.title,
        summary=row.summary,
        severity=row.severity,
        status=row.status,
        detection_method=row.detection_method,
        commander=row.commander,
        communications_lead=row.communications_lead,
        scribe=row.scribe,
        services=tuple(sorted(services)),
        slos=tuple(sorted(slos)),
        users_affected=row.users_affected,
        features_impacted=tuple(json.loads(row.features_impacted)),
        revenue_impact=row.revenue_impact,
        started_at=row.started_at,
        detected_at=row.detected_at,
        declared_at=row.declared_at,
        acknowledged_at=row.acknowledged_at,
        mitigated_at=row.mitigated_at,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        next_update_at=row.next_update_at,
        declared_by=row.declared_by,
        updated_at=row.updated_at,
        response_due_at=due,
        response_state=state,
        update_overdue=update_overdue(row, now),
        caused_by_change=row.caused_by_change,
        resolution_json=row.resolution,
    )


def build_many(
    session: Session,
    rows: Sequence[Incident],
    *,
    now: datetime,
    targets: Mapping[Severity, timedelta],
) -> list[IncidentView]:
    """Views of ``rows`` with their services and SLOs read in one query each."""
    ids = [row.id for row in rows]
    services: dict[int, list[str]] = defaultdict(list)
    slos: dict[int, list[str]] = defaultdict(list)
    if ids:
        for incident_id, name in session.execute(
            select(IncidentService.incident_id, IncidentService.service).where(
                IncidentService.incident_id.in_(ids)
            )
        ):
            services[incident_id].append(name)
        for incident_id, ref in session.execute(
            select(IncidentSLO.incident_id, IncidentSLO.slo_ref).where(
                IncidentSLO.incident_id.in_(ids)
            )
        ):
            slos[incident_id].append(ref)
    return [
        build(row, services=services[row.id], slos=slos[row.id], now=now, targets=targets)
        for row in rows
    ]
