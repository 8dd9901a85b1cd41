"""The incident domain's minute job in the scheduler: escalate SLO-declared incidents whose
alert still fires, and announce status updates that are overdue (once per promised time)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.scheduler import Job
from opsloop.incidents import announcing, from_slos
from opsloop.incidents import service as incidents
from opsloop.incidents.models import Incident, IncidentSLO
from opsloop.slo import service as slo_service

log = logging.getLogger("opsloop.incidents")
WATCH_JOB = "incident-watch"
#: Its promised update time has not been announced as overdue yet.
_NOT_ANNOUNCED = or_(
    Incident.overdue_announced_at.is_(None),
    Incident.overdue_announced_at != Incident.next_update_at,
)


def watch(db: Database, settings: Settings, now: datetime) -> tuple[list[str], list[str]]:
    """One pass: the keys escalated and the keys whose overdue update was announced."""
    with db.write() as session:
        escalated = from_slos.escalate_still_firing(
            session,
            now=now,
            after=timedelta(minutes=settings.incident_escalate_after_minutes),
            firing=_firing_slo_alerts(session),
        )
        overdue = announce_overdue_updates(session, now=now)
    return escalated, overdue


def _firing_slo_alerts(session: Session) -> set[tuple[int, str]]:
    """(SLO id, alert) pairs firing in the last evaluation, for the SLOs of open incidents
    that SLOs declared (asked of the SLO domain)."""
    slo_ids = sorted(
        session.scalars(
            select(IncidentSLO.slo_id)
            .join(Incident, Incident.id == IncidentSLO.incident_id)
            .where(
                Incident.origin.like(f"{from_slos.ORIGIN_PREFIX}%"),
                Incident.status.in_(from_slos.OPEN),
            )
            .distinct()
        )
    )
    if not slo_ids:
        return set()
    results = slo_service.latest_results(session, slo_ids=slo_ids)
    return {
        (slo_id, alert["alert"])
        for slo_id, result in results.items()
        for alert in result.get("alerts", [])
        if alert.get("firing")
    }


def announce_overdue_updates(session: Session, *, now: datetime) -> list[str]:
    """Announce each open incident whose promised update time has passed, once per promise:
    the claim is a conditional UPDATE, so two runs at once announce it once."""
    due = session.execute(
        select(Incident.id, Incident.key).where(
            Incident.status.in_(from_slos.OPEN),
            Incident.next_update_at.is_not(None),
            Incident.next_update_at < now,
            _NOT_ANNOUNCED,
        )
    ).all()
    announced = []
    for incident_id, key in due:
        claimed = session.execute(
            update(Incident)
            .where(Incident.id == incident_id, _NOT_ANNOUNCED)
            .values(overdue_announced_at=Incident.next_update_at)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            announcing.update_overdue(session, incidents.get_incident(session, key=key))
            announced.append(key)
    return announced


def jobs(settings: Settings) -> list[Job]:
    def run(db: Database, now: datetime) -> None:
        escalated, overdue = watch(db, settings, now)
        if escalated or overdue:
            log.info("incidents escalated: %s; overdue updates announced: %s", escalated, overdue)

    return [Job(WATCH_JOB, timedelta(minutes=1), run)]
