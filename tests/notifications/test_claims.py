"""Several delivery threads (as on several replicas) claim and deliver each row once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import event

from opsloop.core.auth.roles import SYSTEM
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.notifications import channels, outbox, recording, service
from opsloop.notifications.delivery import deliver_due
from opsloop.notifications.kinds import ChannelKind
from tests.notifications.receivers import receiver

pytestmark = pytest.mark.usefixtures("real_now_clock")
ROWS = 120
THREADS = 6


def _queue(db: Database, settings: Settings, url: str) -> None:
    with db.write() as session:
        channels.create_channel(
            session, principal=SYSTEM, settings=settings, name="hook",
            kind=ChannelKind.webhook, target=url,
        )  # fmt: skip
        service.subscribe(session, principal=SYSTEM, channel="hook", patterns=["*"])
    with db.write(audited=False) as session:
        batch = [service.Event("slo.alert.firing", f"n{n}", {}) for n in range(ROWS)]
        assert len(service.publish_many(session, batch)) == ROWS


def test_concurrent_claims_never_take_the_same_row(db: Database, nsettings: Settings) -> None:
    _queue(db, nsettings, "http://127.0.0.1:9/hook")
    claimed: list[int] = []
    barrier = threading.Barrier(THREADS)

    def claim() -> None:
        barrier.wait()
        while True:
            ids, _ = outbox.claim_due(db, limit=5, lease=timedelta(minutes=5))
            if not ids:
                return
            claimed.extend(ids)

    threads = [threading.Thread(target=claim) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duplicates = [i for i, n in Counter(claimed).items() if n > 1]
    assert duplicates == [] and len(claimed) == ROWS


def test_concurrent_delivery_threads_deliver_each_notification_once(
    db: Database, nsettings: Settings
) -> None:
    with receiver(200) as hook:
        _queue(db, nsettings, hook.url)
        barrier = threading.Barrier(THREADS)

        def deliver() -> None:
            with httpx.Client(timeout=5) as client:
                barrier.wait()
                while deliver_due(db, nsettings, client):
                    pass

        threads = [threading.Thread(target=deliver) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        counts = Counter(hook.ids())
    assert len(counts) == ROWS and set(counts.values()) == {1}


def test_concurrent_threads_never_send_more_chat_messages_than_the_rate_limit(
    db: Database, nsettings: Settings
) -> None:
    with db.write() as session:
        channel, _ = channels.create_channel(
            session, principal=SYSTEM, settings=nsettings, name="chat",
            kind=ChannelKind.apprise, target="slack://T1AAA/B2BBB/C3CCC", rate_limit_per_minute=5,
        )  # fmt: skip
        channel_id = channel.id
    granted: list[int] = []
    barrier = threading.Barrier(THREADS)

    def take() -> None:
        barrier.wait()
        for _ in range(4):
            granted.append(recording.take_slots(db, channel_id, wanted=1, limit=5))

    threads = [threading.Thread(target=take) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 5


def test_an_idle_poll_reads_and_writes_nothing(db: Database) -> None:
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        ids, _ = outbox.claim_due(db, limit=10, lease=timedelta(seconds=20))
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert ids == []
    assert "UPDATE" not in statements, statements
