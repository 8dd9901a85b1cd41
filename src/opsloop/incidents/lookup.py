"""Incidents by id and by plain criteria, for other domains: alerts linked to incidents, and
the reviews' deadline watch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsloop.incidents.models import Incident, IncidentService
from opsloop.incidents.rules import Severity, Status

OPEN = [s for s in Status if s.is_open]


@dataclass(frozen=True)
class IncidentRef:
    id: int
    key: str
    title: str
    is_open: bool


def refs_by_id(session: Session, ids: Iterable[int]) -> dict[int, IncidentRef]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Incident.id, Incident.key, Incident.title, Incident.status).where(
            Incident.id.in_(wanted)
        )
    )
    return {i: IncidentRef(i, key, title, status.is_open) for i, key, title, status in rows}


def id_of_origin(session: Session, origin: str) -> int | None:
    found = session.scalar(select(Incident.id).where(Incident.origin == origin))
    return int(found) if found is not None else None


def newest_open_by_service(session: Session, services: Iterable[str]) -> dict[str, int]:
    """For each of ``services`` with an incident still open, the id of the most recently
    declared one."""
    wanted = sorted(set(services))
    if not wanted:
        return {}
    rows = session.execute(
        select(IncidentService.service, func.max(Incident.id))
        .join(Incident, IncidentService.incident_id == Incident.id)
        .where(IncidentService.service.in_(wanted), Incident.status.in_(OPEN))
        .group_by(IncidentService.service)
    )
    return {service: int(found) for service, found in rows}


def resolved_between(
    session: Session,
    *,
    severities: Iterable[str],
    started_since: datetime,
    resolved_before: datetime,
) -> list[tuple[int, str]]:
    """(id, key) of the incidents of these severities (names such as ``SEV1``; others match
    nothing) that started at or after ``started_since`` and were resolved before
    ``resolved_before``, newest first: the reviews' deadline watch reads these alone rather
    than every incident of its window."""
    known = {s.value: s for s in Severity}
    wanted = sorted({known[name] for name in severities if name in known})
    if not wanted:
        return []
    rows = session.execute(
        select(Incident.id, Incident.key)
        .where(
            Incident.started_at >= started_since,
            Incident.severity.in_(wanted),
            Incident.resolved_at.is_not(None),
            Incident.resolved_at < resolved_before,
        )
        .order_by(Incident.id.desc())
    )
    return [(int(incident_id), key) for incident_id, key in rows]
