"""Building people, teams, incidents and action items for the action item tests."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from opsloop.actions import announcing
from opsloop.actions import service as actions
from opsloop.actions.views import ActionItemView
from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import SYSTEM, Principal, Role
from opsloop.core.db import Database
from opsloop.incidents.views import IncidentView
from opsloop.notifications import channels
from opsloop.notifications import service as notifications
from opsloop.notifications.kinds import ChannelKind
from opsloop.notifications.models import OutboxEntry
from opsloop.services import teams
from opsloop.services.entries import TeamEntry
from tests.helpers import make_user
from tests.incidents.helpers import declare
from tests.notifications.receivers import notify_settings

RESPONDER = Principal(actor="responder", role=Role.responder)
VIEWER = Principal(actor="viewer", role=Role.viewer)
#: The frozen_clock fixture's start: Monday 2026-11-02 09:00 UTC.
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def make_team(db: Database, name: str, members: dict[str, str]) -> None:
    for username in members:
        with db.read() as session:
            exists = auth.list_users(session)
        if username not in {u.username for u in exists}:
            make_user(db, username, Role.responder)
    with db.write() as session:
        teams.create_team(session, principal=SYSTEM, entry=TeamEntry(name=name, members=members))


def incident(db: Database, **values: Any) -> IncidentView:
    values.setdefault("started_at", START)
    return declare(db, **values)


def add(
    db: Database,
    key: str,
    *,
    owner_user: str | None = None,
    owner_team: str | None = None,
    due_on: date = date(2026, 11, 20),
    priority: str = "P2",
    description: str = "Add a connection pool alert",
) -> ActionItemView:
    with db.write() as session:
        return actions.create_item(
            session,
            principal=RESPONDER,
            incident_key=key,
            description=description,
            owner_user=owner_user,
            owner_team=owner_team,
            priority=priority,
            due_on=due_on,
        )


def subscribe_all(db: Database, tmp_path: Path) -> None:
    with db.write() as session:
        channels.create_channel(
            session, principal=SYSTEM, settings=notify_settings(db, tmp_path), name="hook",
            kind=ChannelKind.webhook, target="http://127.0.0.1:9/hook",
        )  # fmt: skip
        notifications.subscribe(
            session, principal=SYSTEM, channel="hook", patterns=["action_item.*"]
        )


def sent(db: Database, event_type: str = announcing.ESCALATED) -> list[dict[str, Any]]:
    """The data of each outbox row of ``event_type``, oldest first."""
    with db.read() as session:
        rows = session.scalars(
            select(OutboxEntry.payload)
            .where(OutboxEntry.event_type == event_type)
            .order_by(OutboxEntry.id)
        )
        return [json.loads(p)["data"] for p in rows]
