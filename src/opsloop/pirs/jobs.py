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
from opsloop.incidents import lookup
from opsloop.incidents import service as incidents
from opsloop.pirs import announcing
from opsloop.pirs.deps import policy_from
from opsloop.pirs.models import PirOverdueNotice
from opsloop.pirs.reading import states_of
from opsloop.pirs.rules import PirState, is_overdue
from opsloop.pirs.views import Policy, facts_of

log = logging.getLogger("opsloop.pirs")
WATCH_JOB = "pir-watch"
#: Incidents started this long ago or less are watched; a review due later than that after
#: its incident started is rare enough to be left to the compliance view.
WATCHED = timedelta(days=90)
#: Incidents checked a statement at a time (a bound on each IN list's parameters).
_BATCH = 500


def announce_overdue(session: Session, *, now: datetime, policy: Policy) -> list[str]:
    """Announce the reviews that are overdue and not announced yet; returns their keys.

    It runs every minute, so it reads what may still be pending rather than every incident of
    its window (which the compliance view reads whole): the incident service names the resolved
    incidents of required severities past their deadline, and only those without a notice and
    without a published review are read in full. The claim is one INSERT that does nothing when
    the incident has a notice already: of two runs at once, only the one whose row went in
    announces.
    """
    due = lookup.resolved_between(
        session,
        severities=policy.required,
        started_since=now - WATCHED,
        resolved_before=now - timedelta(hours=policy.due_hours),
    )
    keys = []
    for first in range(0, len(due), _BATCH):
        keys += _announce_batch(session, due[first : first + _BATCH], now=now, policy=policy)
    return keys


def _announce_batch(
    session: Session, due: list[tuple[int, str]], *, now: datetime, policy: Policy
) -> list[str]:
    noticed = set(
        session.scalars(
            select(PirOverdueNotice.incident_id).where(
                PirOverdueNotice.incident_id.in_([incident_id for incident_id, _ in due])
            )
        )
    )
    pending = [(incident_id, key) for incident_id, key in due if incident_id not in noticed]
    states = states_of(session, [incident_id for incident_id, _ in pending])
    published = {i for i, state in states.items() if state == PirState.published}
    unpublished = [key for incident_id, key in pending if incident_id not in published]
    if not unpublished:
        return []
    found = incidents.incidents_by_key(session, keys=unpublished)
    insert = upsert_for(session)
    keys = []
    for key in unpublished:
        if key not in found:  # deleted since the first query
            continue
        incident = facts_of(found[key], policy)
        state = states.get(incident.id)
        # The query above chose by the same rule; it is asked here again so the rule stays one.
        if not is_overdue(required=incident.required, due=incident.due_at, state=state, now=now):
            continue
        claimed = session.execute(
            insert(PirOverdueNotice)
            .values(incident_id=incident.id, due_at=incident.due_at, announced_at=now)
            .on_conflict_do_nothing(index_elements=[PirOverdueNotice.incident_id])
            .returning(PirOverdueNotice.incident_id)
        ).first()
        if claimed is not None:
            announcing.overdue(session, incident, state.value if state else None)
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
