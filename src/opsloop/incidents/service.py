"""Incident use-cases: declare, read, list, edit. Status moves, acknowledgement, the timeline,
status updates, the resolution record and templates are in :mod:`opsloop.incidents.lifecycle`.

Every write is audited (``incident.*``) and lands on the incident's timeline. Other domains
call :func:`declare` (an SLO alert declaring an incident) and :func:`open_incidents`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.db import next_in_year
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.incidents import announcing, causes, fields, timeline
from opsloop.incidents.models import Incident, IncidentCounter, IncidentService, IncidentSLO
from opsloop.incidents.rules import (
    DEFAULT_RESPONSE_TARGETS,
    KEY_PATTERN,
    Severity,
    Status,
    incident_key,
    parse_severity,
)
from opsloop.incidents.views import IncidentView, build_many
from opsloop.incidents.vocabulary import TIME_FIELDS, DetectionMethod, EventKind, parse_choice
from opsloop.incidents.vocabulary import Role as Duty
from opsloop.services import service as catalog
from opsloop.services import teams

WRITE_ROLE = Role.responder
ENTITY = "incident"
Targets = Mapping[Severity, timedelta]
ROLE_FIELDS = tuple(duty.value for duty in Duty)
EDITABLE = frozenset(
    {
        "title",
        "summary",
        "severity",
        "detection_method",
        *ROLE_FIELDS,
        "services",
        "slos",
        "users_affected",
        "features_impacted",
        "revenue_impact",
        *TIME_FIELDS,
        causes.FIELD,
    }
)


def next_number(session: Session, year: int) -> int:
    """The year's next incident number, race-free and gap-free (see ``next_in_year``)."""
    return next_in_year(session, IncidentCounter, year)


def find_row(session: Session, key: str) -> Incident:
    normalised = key.strip().upper()
    found = None
    if KEY_PATTERN.match(normalised):
        found = session.scalar(select(Incident).where(Incident.key == normalised))
    if found is None:
        raise NotFound(f"no incident {key!r}", field="key")
    return found


def view_of(session: Session, row: Incident, targets: Targets) -> IncidentView:
    session.flush()
    return build_many(session, [row], now=clock.now(), targets=targets)[0]


def get_incident(
    session: Session, *, key: str, targets: Targets = DEFAULT_RESPONSE_TARGETS
) -> IncidentView:
    return view_of(session, find_row(session, key), targets)


@dataclass(frozen=True)
class IncidentFilter:
    status: Status | None = None
    open_only: bool = False
    severity: Severity | None = None
    service: str | None = None
    team: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def conditions(session: Session, flt: IncidentFilter) -> list[Any]:
    found: list[Any] = []
    if flt.since and flt.until and flt.since > flt.until:
        raise ValidationFailed("since: must not be after until", field="since")
    if flt.status is not None:
        found.append(Incident.status == flt.status)
    if flt.open_only:
        found.append(Incident.status.in_([s for s in Status if s.is_open]))
    if flt.severity is not None:
        found.append(Incident.severity == flt.severity)
    names: list[str] | None = None
    if flt.service:
        names = [flt.service]
    if flt.team:
        if teams.find_team(session, name=flt.team) is None:
            raise ValidationFailed(f"team: no team {flt.team!r}", field="team")
        owned = catalog.services_owned_by(session, team=flt.team)
        names = [n for n in owned if names is None or n in names]
    if names is not None:
        found.append(
            Incident.id.in_(
                select(IncidentService.incident_id).where(IncidentService.service.in_(names))
            )
        )
    if flt.since:
        found.append(Incident.started_at >= flt.since)
    if flt.until:
        found.append(Incident.started_at < flt.until)
    return found


def list_incidents(
    session: Session,
    *,
    flt: IncidentFilter | None = None,
    before_id: int | None = None,
    limit: int | None = None,
    offset: int | None = None,
    targets: Targets = DEFAULT_RESPONSE_TARGETS,
) -> list[IncidentView]:
    """Incidents newest first (by declaration), narrowed by ``flt``."""
    query = select(Incident).where(*conditions(session, flt or IncidentFilter()))
    if before_id is not None:
        query = query.where(Incident.id < before_id)
    query = query.order_by(Incident.id.desc()).limit(limit).offset(offset)
    rows = list(session.scalars(query))
    return build_many(session, rows, now=clock.now(), targets=targets)


def incidents_by_key(
    session: Session, *, keys: Iterable[str], targets: Targets = DEFAULT_RESPONSE_TARGETS
) -> dict[str, IncidentView]:
    """Several incidents in one read (unknown keys are left out), for lists of other domains."""
    wanted = sorted({key.strip().upper() for key in keys})
    if not wanted:
        return {}
    rows = list(session.scalars(select(Incident).where(Incident.key.in_(wanted))))
    return {v.key: v for v in build_many(session, rows, now=clock.now(), targets=targets)}


def count_incidents(session: Session, *, flt: IncidentFilter | None = None) -> int:
    query = select(func.count()).select_from(Incident)
    return int(session.scalar(query.where(*conditions(session, flt or IncidentFilter()))) or 0)


def open_incidents(
    session: Session, *, service: str, targets: Targets = DEFAULT_RESPONSE_TARGETS
) -> list[IncidentView]:
    """The service's incidents not yet resolved, newest first."""
    return list_incidents(
        session, flt=IncidentFilter(service=service, open_only=True), targets=targets
    )


def _set_services(session: Session, incident_id: int, names: Iterable[str]) -> None:
    session.execute(delete(IncidentService).where(IncidentService.incident_id == incident_id))
    session.add_all(IncidentService(incident_id=incident_id, service=n) for n in names)


def _set_slos(session: Session, incident_id: int, linked: Mapping[int, str]) -> None:
    session.execute(delete(IncidentSLO).where(IncidentSLO.incident_id == incident_id))
    session.add_all(
        IncidentSLO(incident_id=incident_id, slo_id=slo_id, slo_ref=ref)
        for slo_id, ref in linked.items()
    )


def declare(
    session: Session,
    *,
    principal: Principal,
    title: str,
    severity: Severity,
    summary: str = "",
    services: Sequence[str] = (),
    slos: Sequence[str] = (),
    detection_method: DetectionMethod = DetectionMethod.other,
    commander: str | None = None,
    communications_lead: str | None = None,
    scribe: str | None = None,
    users_affected: int | None = None,
    features_impacted: Sequence[str] = (),
    revenue_impact: str = "",
    started_at: datetime | None = None,
    detected_at: datetime | None = None,
    targets: Targets = DEFAULT_RESPONSE_TARGETS,
    origin: str | None = None,
) -> IncidentView:
    """A new incident, investigating, keyed INC-<year>-<next number of the year>. ``origin``
    names what declared it when a machine did (unique: see Incident.origin)."""
    require(principal, WRITE_ROLE)
    now = clock.now()
    started = fields.moment(started_at, "started_at") if started_at else now
    detected = fields.moment(detected_at, "detected_at") if detected_at else now
    times = {"started_at": started, "detected_at": detected, "declared_at": now}
    fields.time_order(times)
    if users_affected is not None and users_affected < 0:
        raise ValidationFailed("users_affected: must not be negative", field="users_affected")
    people = {
        "commander": fields.user(session, commander, "commander"),
        "communications_lead": fields.user(session, communications_lead, "communications_lead"),
        "scribe": fields.user(session, scribe, "scribe"),
    }
    row = Incident(
        title=fields.title(title),
        summary=fields.text(summary, "summary"),
        severity=severity,
        status=Status.investigating,
        detection_method=detection_method,
        users_affected=users_affected,
        features_impacted=json.dumps(list(fields.items(features_impacted, "features_impacted"))),
        revenue_impact=fields.text(revenue_impact, "revenue_impact", limit=200),
        started_at=started,
        detected_at=detected,
        declared_at=now,
        resolution="{}",
        declared_by=principal.actor,
        updated_at=now,
        origin=origin,
        **people,
    )
    checked_services = fields.services(session, services)
    linked = fields.slos(session, slos)
    # Last, once everything is valid: the number is taken only by a declaration that goes on.
    row.year = now.year
    row.number = next_number(session, now.year)
    row.key = incident_key(row.year, row.number)
    session.add(row)
    session.flush()
    _set_services(session, row.id, checked_services)
    _set_slos(session, row.id, linked)
    timeline.add(
        session,
        incident_id=row.id,
        principal=principal,
        kind=EventKind.detection,
        at=detected,
        text=f"detected ({detection_method.value.replace('_', ' ')})",
    )
    timeline.record_change(
        session,
        incident_id=row.id,
        principal=principal,
        kind=EventKind.response,
        field="status",
        before=None,
        after=Status.investigating.value,
        text=f"declared {severity.value} ({severity.definition}): {row.title}",
    )
    found = view_of(session, row, targets)
    audit.record(
        session,
        principal=principal,
        action="incident.declare",
        entity_type=ENTITY,
        entity_id=row.key,
        after=found.fields(),
    )
    announcing.declared(session, found)
    return found


def _kind_of(name: str, before: Any, after: Any) -> EventKind:
    if name == "severity":
        return (
            EventKind.escalation if Severity(after).rank < Severity(before).rank else EventKind.note
        )
    if name in ROLE_FIELDS:
        return EventKind.response
    if name == "mitigated_at":
        return EventKind.mitigation
    return EventKind.note


def _checked_time(row: Incident, name: str, value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationFailed(f"{name}: cannot be cleared", field=name)
    if name == "acknowledged_at" and row.acknowledged_at is None:
        raise ValidationFailed(
            "acknowledged_at: acknowledge the incident first", field="acknowledged_at"
        )
    if name == "resolved_at" and row.status.is_open:
        raise ValidationFailed(
            "resolved_at: set by moving the incident to resolved", field="resolved_at"
        )
    if name == "closed_at" and row.status != Status.closed:
        raise ValidationFailed("closed_at: set by closing the incident", field="closed_at")
    return fields.moment(value, name)


def _checked(session: Session, row: Incident, name: str, value: Any) -> Any:
    """The stored form of one edited field, checked."""
    if name == causes.FIELD:
        return causes.checked_change(session, value)
    if value is None and name not in (*ROLE_FIELDS, "users_affected"):
        raise ValidationFailed(f"{name}: cannot be cleared", field=name)
    if name == "title":
        return fields.title(value)
    if name == "summary":
        return fields.text(value, "summary")
    if name == "revenue_impact":
        return fields.text(value, "revenue_impact", limit=200)
    if name == "severity":
        return parse_severity(str(value))
    if name == "detection_method":
        return parse_choice(DetectionMethod, str(value), name)
    if name in ROLE_FIELDS:
        return fields.user(session, value, name)
    if name == "users_affected":
        if value is not None and (isinstance(value, bool) or int(value) < 0):
            raise ValidationFailed("users_affected: must not be negative", field=name)
        return value
    if name == "features_impacted":
        return list(fields.items(value, name))
    if name == "services":
        return list(fields.services(session, value))
    if name == "slos":
        return fields.slos(session, value)
    return _checked_time(row, name, value)


def update_incident(
    session: Session,
    *,
    principal: Principal,
    key: str,
    changes: Mapping[str, Any],
    targets: Targets = DEFAULT_RESPONSE_TARGETS,
) -> IncidentView:
    """Edit the named fields; each change is audited and lands on the timeline."""
    require(principal, WRITE_ROLE)
    for name in changes:
        if name == "status":
            raise ValidationFailed("status: move it with the status action", field="status")
        if name not in EDITABLE:
            raise ValidationFailed(f"{name}: not a field of an incident", field=name)
    row = find_row(session, key)
    before = view_of(session, row, targets)
    shown = before.fields()
    wanted = {name: _checked(session, row, name, value) for name, value in changes.items()}
    times = {name: getattr(row, name) for name in TIME_FIELDS}
    times.update({k: v for k, v in wanted.items() if k in TIME_FIELDS})
    fields.time_order(times)
    for name, value in wanted.items():
        if name == "services":
            _set_services(session, row.id, value)
        elif name == "slos":
            _set_slos(session, row.id, value)
        elif name == "features_impacted":
            row.features_impacted = json.dumps(value)
        else:
            setattr(row, name, value)
    row.updated_at = clock.now()
    after = view_of(session, row, targets)
    new = after.fields()
    for name in sorted(wanted):
        if shown[name] != new[name]:
            old_value, new_value = getattr(before, name), getattr(after, name)
            timeline.record_change(
                session,
                incident_id=row.id,
                principal=principal,
                kind=_kind_of(name, shown[name], new[name]),
                field=name,
                before=old_value.value if hasattr(old_value, "value") else old_value,
                after=new_value.value if hasattr(new_value, "value") else new_value,
            )
    if new != shown:
        audit.record(
            session,
            principal=principal,
            action="incident.update",
            entity_type=ENTITY,
            entity_id=row.key,
            before=shown,
            after=new,
        )
    if after.severity.rank < before.severity.rank:
        announcing.escalated(session, after, before.severity.value, f"by {principal.actor}")
    return after
