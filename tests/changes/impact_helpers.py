"""Building a change that ran through a window, with pushed SLO events at chosen times, for
the assessment and verification tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.notifications import channels
from opsloop.notifications import service as notify
from opsloop.notifications.kinds import ChannelKind
from opsloop.notifications.models import OutboxEntry
from opsloop.slo import events
from opsloop.slo import service as slo_service
from opsloop.slo.events import MinuteCount
from tests.changes.helpers import BOB, act, raise_change
from tests.notifications.receivers import notify_settings

MINUTE = timedelta(minutes=1)


def make_slo(db: Database, service: str = "checkout", name: str = "availability") -> int:
    """A pushed SLO with a 99.9 % objective: its budget rate is 0.1 % errors."""
    with db.write() as session:
        defn = slo_service.pushed_definition(service=service, name=name, objective=99.9)
        return slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id


def push_minutes(db: Database, slo_id: int, start: datetime, count: int, errors: int) -> None:
    """``count`` minutes from ``start`` of 10,000 events with ``errors`` bad ones each."""
    with db.write(audited=False) as session:
        events.ingest(
            session,
            {
                slo_id: [
                    MinuteCount(start + i * MINUTE, 10_000 - errors, 10_000) for i in range(count)
                ]
            },
        )


def run_change(db: Database, at: clock.FrozenClock) -> str:
    """A normal change approved, scheduled an hour from now for 30 minutes, started at the
    window's start and completed at its end; the clock is left at the completion."""
    key = raise_change(db).key
    act(db, "approve", key, BOB)
    window = clock.now() + timedelta(hours=1)
    act(db, "schedule", key, start=window, duration=timedelta(minutes=30))
    at.current = window
    act(db, "start", key)
    at.current = window + timedelta(minutes=30)
    act(db, "complete", key)
    return key


def subscribe_all(db: Database, tmp_path: Path) -> None:
    with db.write() as session:
        channels.create_channel(
            session,
            principal=SYSTEM,
            settings=notify_settings(db, tmp_path),
            name="all",
            kind=ChannelKind.webhook,
            target="http://127.0.0.1:9/hook",
        )
        notify.subscribe(session, principal=SYSTEM, channel="all", patterns=["change.*"])


def outbox(db: Database, event_type: str) -> int:
    with db.read() as session:
        query = select(func.count()).where(OutboxEntry.event_type == event_type)
        return int(session.scalar(query) or 0)
