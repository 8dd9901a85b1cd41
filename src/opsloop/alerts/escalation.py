"""Escalation: an alert instance nobody acknowledged within its response time raises one
``alert.escalation`` event through the outbox, from the stored rows, in a scheduler job.

Only instances still firing are escalated: one that resolved before anyone looked needs no
one woken up for it (it still counts against acknowledgement within target in reviews).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from opsloop.alerts import service as alerts
from opsloop.alerts.models import Alert, AlertStatus
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.scheduler import Job
from opsloop.notifications import service as notifications
from opsloop.services import service as catalog

log = logging.getLogger("opsloop.alerts")
ESCALATION_JOB = "alert-escalation"
INTERVAL = timedelta(seconds=30)
#: Alerts escalated per transaction; a backlog drains over the next runs.
BATCH = 500


def escalate_due(db: Database, now: datetime) -> list[int]:
    """Escalate every alert instance past its response time and not acknowledged; the ids
    escalated by this call. Safe to run at once in several processes: each instance is
    escalated once."""
    with db.write(audited=False) as session:
        due = list(
            session.scalars(
                select(Alert.id)
                .where(
                    Alert.status == AlertStatus.firing,
                    Alert.acked_at.is_(None),
                    Alert.escalated_at.is_(None),
                    Alert.respond_by <= now,
                )
                .order_by(Alert.id)
                .limit(BATCH)
            )
        )
        if not due:
            return []
        # The guard: a concurrent run may have escalated (or someone acknowledged) these
        # since they were read; PostgreSQL re-checks the condition after waiting for its row
        # lock, so only one transaction claims each row.
        claimed = list(
            session.scalars(
                update(Alert)
                .where(Alert.id.in_(due), Alert.escalated_at.is_(None), Alert.acked_at.is_(None))
                .values(escalated_at=now)
                .returning(Alert.id)
                .execution_options(synchronize_session=False)
            )
        )
        if not claimed:
            return []
        rows = alerts.by_ids(session, claimed)
        facts = catalog.routing_facts(session, {r.service for r in rows if r.service})
        events = []
        for row in rows:
            service = facts.get(row.service) if row.service else None
            summary = json.loads(row.annotations).get("summary", "")
            events.append(
                notifications.Event(
                    alerts.ESCALATION,
                    f"{row.name} ({row.severity or 'no severity'}) not acknowledged"
                    + (f": {summary}" if summary else ""),
                    {
                        "alert": row.id,
                        "name": row.name,
                        "severity": row.severity,
                        "fingerprint": row.fingerprint,
                        "starts_at": row.starts_at.isoformat(),
                        "respond_by": row.respond_by.isoformat(),
                    },
                    service=row.service,
                    team=service.owner_team if service else None,
                    tier=service.tier if service else None,
                    link=f"/alerts/{row.id}",
                )
            )
        notifications.publish_many(session, events)
    return sorted(claimed)


def jobs(settings: Settings) -> list[Job]:
    def escalate(db: Database, now: datetime) -> None:
        escalated = escalate_due(db, now)
        if escalated:
            log.info("escalated %d alerts", len(escalated))

    return [Job(ESCALATION_JOB, INTERVAL, escalate)]
