"""Pushes committed in groups: each push keeps its own outcome and its own record, pushes to one
SLO apply in arrival order, and concurrent groups over the same SLOs store every minute."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from opsloop.app import create_app
from opsloop.core import clock
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.slo.event_writes import array_text
from opsloop.slo.ingestion import BulkPush, OnePush, store_pushes
from opsloop.slo.models import EventBucket, EventPush
from opsloop.slo.push_records import decode
from opsloop.slo.service import parse_stored
from tests.helpers import bearer
from tests.slo.test_ingestion import create_pushed

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PUSHER = Principal(actor="pusher", role=Role.responder)


@pytest.fixture
def at_now(frozen_clock: clock.FrozenClock) -> clock.FrozenClock:
    frozen_clock.current = NOW
    return frozen_clock


def minute(n: int) -> datetime:
    return NOW - timedelta(minutes=n)


def test_one_group_gives_each_push_its_outcome_in_arrival_order(
    client: TestClient, db: Database, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    a = create_pushed(client, tokens[Role.approver], "checkout", "availability")
    b = create_pushed(client, tokens[Role.approver], "search", "latency")
    pushes = [
        OnePush(a, [(minute(5), 1, 1)], PUSHER, "r0"),
        OnePush(999_999, [(minute(5), 1, 1)], PUSHER, "r1"),
        OnePush(a, [(minute(5), 5, 9)], PUSHER, "r2"),  # later: replaces r0's minute
        OnePush(b, [(NOW + timedelta(minutes=5), 1, 1)], PUSHER, "r3"),
        BulkPush(
            [(str(a), (minute(4), 2, 2)), ("search/latency", (minute(4), 3, 4))], PUSHER, "r4"
        ),
        BulkPush(
            [("search/latency", (minute(3), 1, 1)), ("nope/none", (minute(3), 1, 1))], PUSHER, "r5"
        ),
    ]
    with db.write(audited=False) as session:
        outcomes = store_pushes(session, pushes)
    assert [o if isinstance(o, int) else type(o) for o in outcomes] == [
        1,
        NotFound,
        1,
        ValidationFailed,
        2,
        ValidationFailed,
    ]
    assert isinstance(outcomes[3], ValidationFailed) and outcomes[3].field == "events[0].timestamp"
    assert isinstance(outcomes[5], ValidationFailed) and outcomes[5].field == "events[1].slo"
    with db.read() as session:
        buckets = session.execute(
            select(
                EventBucket.slo_id, EventBucket.minute, EventBucket.good, EventBucket.total
            ).order_by(EventBucket.slo_id, EventBucket.minute)
        ).all()
        records = session.execute(
            select(EventPush.request_id, EventPush.slos, EventPush.actor).order_by(
                EventPush.request_id
            )
        ).all()
    assert [tuple(r) for r in buckets] == [
        (a, minute(5), 5, 9),
        (a, minute(4), 2, 2),
        (b, minute(4), 3, 4),
    ]
    # One record per accepted push, covering its SLOs; refused pushes leave none.
    assert [(r.request_id, [c.slo_id for c in decode(r.slos)], r.actor) for r in records] == [
        ("r0", [a], "pusher"),
        ("r2", [a], "pusher"),
        ("r4", sorted([a, b]), "pusher"),
    ]


@pytest.fixture
def second_app(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    """Another app on its own Database: a second process's group commit."""
    other = Database(db.url)
    settings = Settings(database_url=db.url, data_dir=tmp_path / "other", scheduler_enabled=False)
    with TestClient(create_app(settings, other)) as client:
        yield client
    other.dispose()


def test_concurrent_groups_over_the_same_slos_store_every_minute(
    client: TestClient,
    second_app: TestClient,
    db: Database,
    tokens: dict[Role, str],
    at_now: clock.FrozenClock,
) -> None:
    ids = [create_pushed(client, tokens[Role.approver], "svc", f"slo-{n}") for n in range(4)]
    minutes = 15
    failures: list[str] = []

    def counts(slo_id: int, m: int) -> tuple[int, int]:
        return (slo_id + m) % 7, 10 + m  # the same from every client: overlaps agree

    def run(app: TestClient, order: list[int]) -> None:
        for m in range(minutes):
            for slo_id in order:
                good, total = counts(slo_id, m)
                body = {
                    "events": [{"timestamp": minute(m).isoformat(), "good": good, "total": total}]
                }
                response = app.post(
                    f"/api/v1/slos/{slo_id}/events",
                    json=body,
                    headers=bearer(tokens[Role.responder]),
                )
                if response.status_code != 200:
                    failures.append(response.text)

    threads = [
        threading.Thread(target=run, args=(app, order))
        for app in (client, second_app)
        for order in (ids, ids[::-1], ids[1:] + ids[:1])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    with db.read() as session:
        stored = {
            (r.slo_id, r.minute): (r.good, r.total)
            for r in session.execute(
                select(EventBucket.slo_id, EventBucket.minute, EventBucket.good, EventBucket.total)
            )
        }
        records = session.scalar(select(EventPush.id).order_by(EventPush.id.desc()).limit(1))
    assert stored == {(s, minute(m)): counts(s, m) for s in ids for m in range(minutes)}
    assert records is not None


def test_recent_minutes_need_no_spec_parsing_older_ones_still_meet_the_window(
    client: TestClient, db: Database, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver], "checkout", "availability")  # 30d
    parse_stored.cache_clear()

    def push(days_ago: float) -> int | Exception:
        at = minute(0) - timedelta(days=days_ago)
        with db.write(audited=False) as session:
            return store_pushes(session, [OnePush(slo_id, [(at, 1, 1)], PUSHER, "r")])[0]

    assert push(2) == 1
    assert parse_stored.cache_info().misses == 0
    assert push(29) == 1
    outcome = push(31)
    assert isinstance(outcome, ValidationFailed) and "older than the SLO window" in outcome.message
    assert parse_stored.cache_info().misses == 1


def test_array_literals_come_back_as_the_values_they_were_made_of(db: Database) -> None:
    """The PostgreSQL statements cast columns sent as array literals; SQLite never sees them."""
    if db.dialect != "postgresql":
        pytest.skip("array literals are PostgreSQL's")
    strings = ['a"b', "back\\slash", "NULL", "", "comma,{brace}", "space d", "ünï ✓", "x'y"]
    ints = [0, -1, 2**40, 7]
    times = [
        datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 9, 1, 30, 123456, tzinfo=UTC),
    ]
    with db.engine.connect() as conn:
        got = conn.execute(
            text("SELECT CAST(:s AS text[]), CAST(:i AS bigint[]), CAST(:t AS timestamptz[])"),
            {"s": array_text(strings), "i": array_text(ints), "t": array_text(times)},
        ).one()
    assert list(got[0]) == strings
    assert list(got[1]) == ints
    assert list(got[2]) == times
