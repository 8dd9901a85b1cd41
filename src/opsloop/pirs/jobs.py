"""The reviews' minute job: announce each required review that passed its deadline without
being published (missing ones included), once per incident however many replicas run it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.core.config import Settings
from opsloop.core.db import Database, upsert_for
from opsloop.core.scheduler import Job
from opsloop.pirs import announcing, compliance
from opsloop.pirs.deps import policy_from
from opsloop.pirs.models import PirOverdueNotice
from opsloop.pirs.views import Policy

log = logging.getLogger("opsloop.pirs")
WATCH_JOB = "pir-watch"
#: Incidents started this long ago or less are watched; a review due later than that after
#: its incident started is rare enough to be left to the compliance view.
WATCHED = timedelta(days=90)


def announce_overdue(session: Session, *, now: datetime, policy: Policy) -> list[str]:
    """Announce the reviews that are overdue and not announced yet; returns their keys.

    The claim is one INSERT that does nothing when the incident has a notice already: of two
    runs at once, only the one whose row went in announces.
    """
    report = compliance.incident_compliance(session, window=WATCHED, policy=policy, now=now)
    found = report.overdue_reviews
    if not found:
        return []
    announced_before = set(
        session.scalars(
            select(PirOverdueNotice.incident_id).where(
                PirOverdueNotice.incident_id.in_([r.incident.id for r in found])
            )
        )
    )
    insert = upsert_for(session)
    keys = []
    for review in found:
        incident = review.incident
        if incident.id in announced_before or incident.due_at is None:
            continue
        claimed = session.execute(
            insert(PirOverdueNotice)
            .values(incident_id=incident.id, due_at=incident.due_at, announced_at=now)
            .on_conflict_do_nothing(index_elements=[PirOverdueNotice.incident_id])
            .returning(PirOverdueNotice.incident_id)
        ).first()
        if claimed is not None:
            announcing.overdue(session, incident, review.state.value if review.state else None)
            keys.append(incident.key)
    return keys


def jobs(settings: Settings) -> list[Job]:
    policy = policy_from(settings)

    def run(db: Database, now: datetime) -> None:
        # No audit record is written (announcements are not control-plane changes), and the
        # claim alone keeps concurrent runs from announcing twice.
        with db.write(audited=False) as session:
            keys = announce_overdue(session, now=now, policy=policy)
        if keys:
            log.info("overdue post-incident reviews announced: %s", keys)

    return [Job(WATCH_JOB, timedelta(minutes=1), run)]
