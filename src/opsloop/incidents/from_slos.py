"""Incidents that SLOs declare by themselves: a page-severity burn-rate alert declares a SEV2
"SLO violation" for its service, where the service allows it (by default its tier-1
services do), and one still firing after a while escalates it to SEV1.

One firing alert never declares two incidents: the incident keeps the alert's identity
(SLO, alert and since when it fires) as its unique ``origin``, and while an incident an SLO
declared is open, the SLO's other page alerts join it instead of declaring more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import SYSTEM, Principal, Role
from opsloop.core.auth.service import require
from opsloop.incidents import service as incidents
from opsloop.incidents.models import AutoDeclare, Incident, IncidentSLO
from opsloop.incidents.rules import Severity, Status
from opsloop.incidents.views import IncidentView
from opsloop.incidents.vocabulary import DetectionMethod
from opsloop.services import service as catalog

ORIGIN_PREFIX = "slo:"
#: Who changes the per-service switch: the same role that edits the catalog.
SETTING_ROLE = Role.responder
#: The statuses of an incident still being worked on.
OPEN = [s for s in Status if s.is_open]


@dataclass(frozen=True)
class FiringPage:
    """A page-severity burn-rate alert that started firing in an evaluation."""

    slo_id: int
    service: str
    slo_name: str
    alert: str
    since: datetime

    @property
    def origin(self) -> str:
        return f"{ORIGIN_PREFIX}{self.slo_id}:{self.alert}:{self.since.isoformat()}"


@dataclass(frozen=True)
class AutoDeclareState:
    service: str
    enabled: bool
    default: bool  # what the tier says
    overridden: bool


def auto_declare_state(session: Session, *, service: str) -> AutoDeclareState:
    facts = catalog.require_service(session, service)
    default = facts.tier == 1
    row = session.get(AutoDeclare, service)
    enabled = default if row is None else row.enabled
    return AutoDeclareState(service, enabled, default, row is not None)


def declaring_services(session: Session) -> list[AutoDeclareState]:
    """Every service whose switch is set by hand, and every tier-1 service: the ones whose
    answer differs from "no" or was chosen, by name."""
    names = {row.service for row in session.scalars(select(AutoDeclare))}
    names |= {s.name for s in catalog.list_services(session, flt=catalog.ServiceFilter(tier=1))}
    return [auto_declare_state(session, service=name) for name in sorted(names)]


def set_auto_declare(
    session: Session, *, principal: Principal, service: str, enabled: bool | None
) -> AutoDeclareState:
    """Turn a service's auto-declaration on or off, or back to its tier's default (None)."""
    require(principal, SETTING_ROLE)
    before = auto_declare_state(session, service=service)
    row = session.get(AutoDeclare, service)
    if enabled is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(
            AutoDeclare(
                service=service, enabled=enabled, updated_by=principal.actor, updated_at=clock.now()
            )
        )
    else:
        row.enabled, row.updated_by, row.updated_at = enabled, principal.actor, clock.now()
    session.flush()
    after = auto_declare_state(session, service=service)
    if after != before:
        audit.record(
            session,
            principal=principal,
            action="incident.auto_declare",
            entity_type="service",
            entity_id=service,
            before={"enabled": before.enabled, "overridden": before.overridden},
            after={"enabled": after.enabled, "overridden": after.overridden},
        )
    return after


def declare_for_pages(session: Session, pages: Sequence[FiringPage]) -> list[IncidentView]:
    """Declare what the pages call for, in the caller's transaction (the evaluation's)."""
    declared = []
    for page in pages:
        if not auto_declare_state(session, service=page.service).enabled:
            continue
        if session.scalar(select(Incident.id).where(Incident.origin == page.origin)):
            continue  # declared already by an earlier evaluation
        if _open_for_slo(session, page.slo_id):
            continue  # the SLO's other window already has an incident open
        declared.append(
            incidents.declare(
                session,
                principal=SYSTEM,
                title=f"SLO violation — {page.service}/{page.slo_name}",
                severity=Severity.SEV2,
                summary=(
                    f"Burn-rate alert {page.alert} of {page.service}/{page.slo_name} is firing "
                    f"since {page.since.isoformat(timespec='minutes')}: the error budget is "
                    "being spent fast enough to page."
                ),
                services=[page.service],
                slos=[str(page.slo_id)],
                detection_method=DetectionMethod.alert,
                started_at=page.since,
                detected_at=page.since,
                origin=page.origin,
            )
        )
    return declared


def _open_for_slo(session: Session, slo_id: int) -> bool:
    query = (
        select(Incident.id)
        .join(IncidentSLO, IncidentSLO.incident_id == Incident.id)
        .where(
            IncidentSLO.slo_id == slo_id,
            Incident.origin.like(f"{ORIGIN_PREFIX}{slo_id}:%"),
            Incident.status.in_(OPEN),
        )
    )
    return session.scalar(query.limit(1)) is not None


def escalate_still_firing(
    session: Session, *, now: datetime, after: timedelta, firing: set[tuple[int, str]]
) -> list[str]:
    """Raise to SEV1 the open SEV2 incidents SLOs declared more than ``after`` ago whose alert
    is still firing (``firing``: (SLO id, alert) pairs firing now); their keys."""
    candidates = session.execute(
        select(Incident.key, Incident.origin).where(
            Incident.origin.like(f"{ORIGIN_PREFIX}%"),
            Incident.severity == Severity.SEV2,
            Incident.status.in_(OPEN),
            Incident.declared_at <= now - after,
        )
    ).all()
    raised = []
    for key, origin in candidates:
        slo_id, alert = _parsed(origin or "")
        if (slo_id, alert) in firing:
            incidents.update_incident(
                session, principal=SYSTEM, key=key, changes={"severity": Severity.SEV1.value}
            )
            raised.append(key)
    return raised


def _parsed(origin: str) -> tuple[int, str]:
    slo_id, alert, _ = origin[len(ORIGIN_PREFIX) :].split(":", 2)
    return int(slo_id), alert
