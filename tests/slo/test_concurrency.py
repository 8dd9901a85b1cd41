"""Concurrent writers on PostgreSQL: pushes, bulk pushes and evaluations never deadlock, and
concurrent pushes to one SLO keep its running totals exact.

The interleavings are forced, not hoped for: a test connection holds the audit lock (the lock
every audited transaction takes first) while the writers start, waits until each one is either
blocked on a lock or done, and only then lets them go.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from opsloop.app import create_app
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import AUDIT_LOCK_KEY, Database
from opsloop.slo import evaluation
from opsloop.slo.models import SLO, EventBucket, EventDay, EventHour
from tests.conftest import _empty_postgres
from tests.helpers import bearer, make_token, make_user

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def pg(pg_database_url: str) -> Iterator[Database]:
    database = Database(pg_database_url)
    _empty_postgres(database)
    yield database
    database.dispose()


@pytest.fixture
def api(pg: Database, tmp_path: Path, frozen_clock: clock.FrozenClock) -> Iterator[TestClient]:
    frozen_clock.current = NOW
    settings = Settings(database_url=pg.url, data_dir=tmp_path, scheduler_enabled=False)
    with TestClient(create_app(settings, pg), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def writer(pg: Database) -> str:
    make_user(pg, "writer", Role.admin)
    return make_token(pg, "writer", Role.admin)


def create_pushed(api: TestClient, token: str, name: str) -> int:
    body = {"service": "checkout", "name": name, "objective": 99.9}
    response = api.post("/api/v1/slos", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def event(minute: datetime, good: int, total: int, **extra: Any) -> dict[str, Any]:
    return {"timestamp": minute.isoformat(), "good": good, "total": total, **extra}


def waiting_on_locks(pg: Database) -> int:
    """Backends of this database (other than the asking one) blocked on a lock."""
    with pg.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        )


def settle(pg: Database, threads: list[threading.Thread]) -> None:
    """Wait until every writer either waits on a lock or has finished."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if waiting_on_locks(pg) >= sum(t.is_alive() for t in threads):
            time.sleep(0.1)  # let a writer that just got unblocked reach its next lock
            return
        time.sleep(0.02)
    pytest.fail("writers neither blocked nor finished")


@contextmanager
def holding_audit_lock(pg: Database) -> Iterator[None]:
    with pg.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": AUDIT_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": AUDIT_LOCK_KEY})
            conn.commit()


def in_thread(target: Callable[[], Any], results: list[Any]) -> threading.Thread:
    def run() -> None:
        try:
            results.append(target())
        except Exception as exc:
            results.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def status_of(outcome: Any) -> Any:
    return outcome.status_code if isinstance(outcome, httpx.Response) else outcome


def test_bulk_push_racing_a_single_push_does_not_deadlock(
    pg: Database, api: TestClient, writer: str
) -> None:
    first, second = create_pushed(api, writer, "a"), create_pushed(api, writer, "b")
    minute = NOW - timedelta(minutes=1)
    bulk_results: list[Any] = []
    single_results: list[Any] = []
    with holding_audit_lock(pg):
        bulk = in_thread(
            lambda: api.post(
                "/api/v1/events",
                json={
                    "events": [
                        event(minute, 1, 2, slo=str(first)),
                        event(minute, 3, 4, slo=str(second)),
                    ]
                },
                headers=bearer(writer),
            ),
            bulk_results,
        )
        settle(pg, [bulk])
        single = in_thread(
            lambda: api.post(
                f"/api/v1/slos/{second}/events",
                json={"events": [event(minute - timedelta(minutes=1), 5, 6)]},
                headers=bearer(writer),
            ),
            single_results,
        )
        settle(pg, [bulk, single])
    bulk.join(30)
    single.join(30)
    # Before one lock order, the bulk push held SLO a's row and the audit lock and waited for
    # b's row, which the single push held while it waited for the audit lock: one got a 500.
    assert [status_of(r) for r in bulk_results + single_results] == [200, 200]
    with pg.read() as session:
        stored = session.execute(
            select(EventBucket.slo_id, EventBucket.good).order_by(
                EventBucket.slo_id, EventBucket.minute
            )
        ).all()
        by_day = session.execute(
            select(EventDay.slo_id, EventDay.good).order_by(EventDay.slo_id)
        ).all()
    assert [tuple(r) for r in stored] == [(first, 1), (second, 5), (second, 3)]
    assert [tuple(r) for r in by_day] == [(first, 1), (second, 8)]


def test_evaluation_changing_two_slos_racing_a_push_does_not_deadlock(
    pg: Database, api: TestClient, writer: str
) -> None:
    ids = [create_pushed(api, writer, name) for name in ("a", "b")]
    hour = [event(NOW - timedelta(minutes=60 - i), 0, 100) for i in range(60)]
    for slo_id in ids:
        response = api.post(
            f"/api/v1/slos/{slo_id}/events", json={"events": hour}, headers=bearer(writer)
        )
        assert response.status_code == 200, response.text
    evaluated: list[Any] = []
    pushed: list[Any] = []
    with holding_audit_lock(pg):
        evaluating = in_thread(lambda: evaluation.evaluate(pg, now=NOW), evaluated)
        settle(pg, [evaluating])
        pushing = in_thread(
            lambda: api.post(
                f"/api/v1/slos/{ids[-1]}/events",
                json={"events": [event(NOW, 0, 100)]},
                headers=bearer(writer),
            ),
            pushed,
        )
        settle(pg, [evaluating, pushing])
    evaluating.join(30)
    pushing.join(30)
    # Before: the evaluation held the audit lock and needed the second SLO's row (an alert
    # event refers to it), which the push held while waiting for the audit lock.
    assert [status_of(r) for r in pushed] == [200]
    assert len(evaluated) == 1 and isinstance(evaluated[0], dict), evaluated
    # Both SLOs changed policy state (their rows were updated) in the evaluation's transaction.
    with pg.read() as session:
        states = session.execute(select(SLO.id, SLO.policy_state).where(SLO.id.in_(ids))).all()
    assert sorted(tuple(r) for r in states) == [(slo_id, "freeze") for slo_id in ids]


def test_concurrent_late_pushes_to_one_slo_keep_the_rollups_exact(
    pg: Database, api: TestClient, writer: str
) -> None:
    _late_pushes_keep_the_rollups_exact(pg, [api], writer)


@pytest.fixture
def second_api(pg: Database, tmp_path: Path, api: TestClient) -> Iterator[TestClient]:
    """Another app on its own Database: a second process, with its own group commit."""
    other = Database(pg.url)
    settings = Settings(database_url=pg.url, data_dir=tmp_path / "other", scheduler_enabled=False)
    with TestClient(create_app(settings, other), raise_server_exceptions=False) as client:
        yield client
    other.dispose()


def test_late_pushes_from_two_processes_keep_the_rollups_exact(
    pg: Database, api: TestClient, second_api: TestClient, writer: str
) -> None:
    # One process commits its pushes one group at a time; two commit groups concurrently, so
    # only the SLO row lock keeps two groups from reading the same old counts of a minute.
    _late_pushes_keep_the_rollups_exact(pg, [api, second_api], writer)


def _late_pushes_keep_the_rollups_exact(pg: Database, apps: list[TestClient], writer: str) -> None:
    api = apps[0]
    slo_id = create_pushed(api, writer, "busy")
    # Two hours around midnight, 8 to 10 hours late: batches cross hours and a day.
    start = NOW.replace(hour=0) - timedelta(hours=1)
    rng = random.Random(6)
    # 6 clients, 8 batches each, of 1-10 minutes anywhere in those two hours: batches overlap,
    # so many minutes are sent again with other counts and replace what another client sent.
    batches = []
    for _ in range(6):
        client_batches = []
        for _ in range(8):
            chosen = sorted(rng.sample(range(120), rng.randint(1, 10)))
            client_batches.append(
                [event(start + timedelta(minutes=m), rng.randint(0, 50), 50) for m in chosen]
            )
        batches.append(client_batches)
    failures: list[Any] = []

    def client_run(app: TestClient, mine: list[list[dict[str, Any]]]) -> None:
        for batch in mine:
            response = app.post(
                f"/api/v1/slos/{slo_id}/events", json={"events": batch}, headers=bearer(writer)
            )
            if response.status_code != 200:
                failures.append(response.text)

    threads = [
        threading.Thread(target=client_run, args=(apps[n % len(apps)], b))
        for n, b in enumerate(batches)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    with pg.read() as session:
        minutes = session.execute(
            select(EventBucket.minute, EventBucket.good, EventBucket.total).where(
                EventBucket.slo_id == slo_id
            )
        ).all()
        hours = session.execute(
            select(EventHour.hour, EventHour.good, EventHour.total).where(
                EventHour.slo_id == slo_id
            )
        ).all()
        days = session.execute(
            select(EventDay.day, EventDay.good, EventDay.total).where(EventDay.slo_id == slo_id)
        ).all()
    expected_hours: dict[datetime, tuple[int, int]] = {}
    expected_days: dict[datetime, tuple[int, int]] = {}
    for minute, good, total in minutes:
        for sums, key in (
            (expected_hours, minute.replace(minute=0)),
            (expected_days, minute.replace(hour=0, minute=0)),
        ):
            before = sums.get(key, (0, 0))
            sums[key] = (before[0] + good, before[1] + total)
    # Without the SLO row lock, two pushes of one minute both read its old counts and both add
    # their difference to the hour and the day.
    assert {h: (g, t) for h, g, t in hours} == expected_hours
    assert {d: (g, t) for d, g, t in days} == expected_days
    assert len(expected_days) == 2
