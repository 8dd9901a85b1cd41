"""Escalation of overdue action items to their owner's team lead, once per item and level.

Levels are in :mod:`opsloop.actions.rules`. Who is told: for a team owner, the team's leads;
for a user owner, the leads of every team the user belongs to (the user aside). A team
without such a lead gets the escalation on its own channel (the event's team), and the stored
escalation says no lead was told.

The unique (item_id, level) of ``action_item_escalations`` is the guard: each run inserts the
level it wants with ON CONFLICT DO NOTHING and notifies only for the rows it inserted, so any
number of schedulers and hand-run commands at once escalate each level once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsloop.actions import announcing
from opsloop.actions.models import ActionItem, ActionItemEscalation
from opsloop.actions.rules import (
    OPEN_STATUSES,
    days_overdue,
    latest_due_for_level,
    level_reached,
)
from opsloop.actions.service import ENTITY, WRITE_ROLE, get_item
from opsloop.actions.views import ActionItemView
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal
from opsloop.core.auth.service import require
from opsloop.core.config import Settings
from opsloop.core.db import Database, upsert_for
from opsloop.core.scheduler import Job
from opsloop.services import teams
from opsloop.services.vocabulary import TeamRole

log = logging.getLogger("opsloop.actions")
ESCALATION_JOB = "action-item-escalation"
INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class Due:
    item_id: int
    level: int
    days_overdue: int


@dataclass(frozen=True)
class Escalated:
    item_id: int
    incident_key: str
    description: str
    owner: str
    level: int
    days_overdue: int
    #: The leads told, or empty: then only the team channels (``teams``) were.
    notified_to: tuple[str, ...]
    teams: tuple[str, ...]


def due_escalations(session: Session, *, now: datetime, after_days: int) -> list[Due]:
    """Open items whose reached level has not been escalated yet, in id order."""
    cutoff = latest_due_for_level(now, 1, after_days)
    rows = session.execute(
        select(ActionItem.id, ActionItem.due_on, ActionItem.status)
        .where(ActionItem.status.in_(OPEN_STATUSES), ActionItem.due_on <= cutoff)
        .order_by(ActionItem.id)
    ).all()
    if not rows:
        return []
    sent: dict[int, int] = {
        item_id: level
        for item_id, level in session.execute(
            select(ActionItemEscalation.item_id, func.max(ActionItemEscalation.level))
            .where(ActionItemEscalation.item_id.in_([r[0] for r in rows]))
            .group_by(ActionItemEscalation.item_id)
        )
    }
    found = []
    for item_id, due_on, status in rows:
        level = level_reached(due_on, status, now, after_days)
        if level > sent.get(item_id, 0):
            found.append(Due(item_id, level, days_overdue(due_on, status, now)))
    return found


def recipients(session: Session, item: ActionItemView) -> list[tuple[str | None, list[str]]]:
    """(team, its leads to tell) for each team the escalation goes to; a team without a lead
    other than the owner has an empty list; (None, []) when the owner is in no team."""
    if item.owner_team is not None:
        team = teams.find_team(session, name=item.owner_team)
        members = team.members if team else {}
        return [(item.owner_team, [u for u, r in members.items() if r == TeamRole.lead])]
    member_of = [t for t in teams.list_teams(session) if item.owner_user in t.members]
    if not member_of:
        return [(None, [])]
    return [
        (t.name, [u for u, r in t.members.items() if r == TeamRole.lead and u != item.owner_user])
        for t in member_of
    ]


def claim(
    session: Session, due: Sequence[Due], *, now: datetime, dry_run: bool = False
) -> list[Escalated]:
    """Escalate each of ``due`` that no other run has: insert its (item, level) and notify only
    if the insert happened. ``dry_run`` says what would be escalated and writes nothing."""
    insert = upsert_for(session)
    done = []
    for wanted in sorted(due, key=lambda d: d.item_id):
        item = get_item(session, item_id=wanted.item_id)
        routes = recipients(session, item)
        leads = tuple(dict.fromkeys(u for _, names in routes for u in names))
        team_names = tuple(t for t, _ in routes if t is not None)
        if not dry_run:
            inserted = session.scalar(
                insert(ActionItemEscalation)
                .values(
                    item_id=item.id,
                    level=wanted.level,
                    at=now,
                    notified_to=",".join(leads)[:500],
                    teams=",".join(team_names)[:500],
                )
                .on_conflict_do_nothing()
                .returning(ActionItemEscalation.id)
            )
            if inserted is None:
                continue
            announcing.escalated(
                session,
                item,
                level=wanted.level,
                days_overdue=wanted.days_overdue,
                leads_by_team=routes,
            )
        done.append(
            Escalated(
                item.id,
                item.incident_key,
                item.description,
                item.owner,
                wanted.level,
                wanted.days_overdue,
                leads,
                team_names,
            )
        )
    return done


def escalate(
    session: Session, *, now: datetime, after_days: int, dry_run: bool = False
) -> list[Escalated]:
    """One pass over every open item (see the module's doc)."""
    return claim(
        session, due_escalations(session, now=now, after_days=after_days), now=now, dry_run=dry_run
    )


def escalate_by_hand(
    session: Session,
    *,
    principal: Principal,
    now: datetime,
    after_days: int,
    dry_run: bool = False,
) -> list[Escalated]:
    """:func:`escalate` asked for by a person (API, CLI): audited when it escalated anything."""
    require(principal, WRITE_ROLE)
    found = escalate(session, now=now, after_days=after_days, dry_run=dry_run)
    if found and not dry_run:
        audit.record_many(
            session,
            principal=principal,
            entries=[
                audit.Entry(
                    "action_item.escalate",
                    ENTITY,
                    e.item_id,
                    after={
                        "level": e.level,
                        "days_overdue": e.days_overdue,
                        "notified_to": list(e.notified_to),
                        "teams": list(e.teams),
                    },
                )
                for e in found
            ],
        )
    return found


def run(db: Database, settings: Settings, now: datetime) -> list[Escalated]:
    """The scheduler's pass: a machine write, not audited (the escalations are the record),
    so it never queues behind the audit lock."""
    after_days = settings.action_escalate_after_days
    # Most minutes nothing is due: a read finds that without queueing for the write lock.
    with db.read() as session:
        if not due_escalations(session, now=now, after_days=after_days):
            return []
    with db.write(audited=False) as session:
        return escalate(session, now=now, after_days=after_days)


def jobs(settings: Settings) -> list[Job]:
    def escalate_overdue(db: Database, now: datetime) -> None:
        escalated = run(db, settings, now)
        if escalated:
            log.info("action items escalated: %s", [(e.item_id, e.level) for e in escalated])

    return [Job(ESCALATION_JOB, INTERVAL, escalate_overdue)]
