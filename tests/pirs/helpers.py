"""Building resolved incidents and their reviews for the review tests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.incidents import lifecycle
from opsloop.incidents.rules import Severity, Status
from opsloop.incidents.vocabulary import EventKind
from opsloop.notifications import channels
from opsloop.notifications import service as notify
from opsloop.notifications.kinds import ChannelKind
from opsloop.notifications.models import OutboxEntry
from opsloop.pirs import service as pirs
from opsloop.pirs.views import PirView
from tests.incidents.helpers import RESPONDER, declare
from tests.notifications.receivers import notify_settings

WHYS = [
    {"question": "Why did checkout fail?", "answer": "the database refused connections"},
    {"question": "", "answer": "the pool was sized for last year's traffic"},
    {"question": "Why was it not resized?", "answer": "no alert on pool saturation"},
]


def resolved_incident(
    db: Database,
    frozen: clock.FrozenClock,
    *,
    severity: Severity = Severity.SEV1,
    minutes: int = 90,
    acknowledge: bool = True,
    **values: Any,
) -> str:
    """An incident declared now, acknowledged at once, resolved ``minutes`` later."""
    values.setdefault("summary", "Checkout failed for most users")
    values.setdefault("users_affected", 1200)
    values.setdefault("revenue_impact", "~3k EUR")
    key = declare(db, severity=severity, **values).key
    with db.write() as session:
        if acknowledge:
            lifecycle.acknowledge(session, principal=RESPONDER, key=key)
        lifecycle.add_event(
            session, principal=RESPONDER, key=key, kind=EventKind.note, text="rolled back"
        )
    frozen.advance(timedelta(minutes=minutes))
    with db.write() as session:
        lifecycle.change_status(session, principal=RESPONDER, key=key, status=Status.resolved)
    return key


def start_review(db: Database, key: str) -> PirView:
    with db.write() as session:
        return pirs.create_pir(session, principal=RESPONDER, key=key)


def ready_review(db: Database, key: str) -> PirView:
    """A review with what publishing needs."""
    start_review(db, key)
    with db.write() as session:
        return pirs.update_pir(
            session,
            principal=RESPONDER,
            key=key,
            changes={"root_cause": "connection pool too small", "whys": WHYS},
        )


def subscribe_all(db: Database, tmp_path: Path) -> None:
    """A webhook channel subscribed to every review event, so announcements leave outbox rows."""
    with db.write() as session:
        channels.create_channel(
            session,
            principal=SYSTEM,
            settings=notify_settings(db, tmp_path),
            name="all",
            kind=ChannelKind.webhook,
            target="http://127.0.0.1:9/hook",
        )
        notify.subscribe(session, principal=SYSTEM, channel="all", patterns=["pir.*"])


def outbox_rows(db: Database, event_type: str) -> int:
    with db.read() as session:
        query = select(func.count()).where(OutboxEntry.event_type == event_type)
        return int(session.scalar(query) or 0)
