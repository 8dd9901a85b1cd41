"""Background jobs run once per interval however many replicas tick."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from prometheus_client import REGISTRY

from opsloop.core import clock
from opsloop.core.db import Database
from opsloop.core.scheduler import BACKGROUND_NICE, Job, Scheduler, job_lock, last_runs


def test_two_replicas_run_a_job_once_per_interval(
    db: Database, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    runs: list[datetime] = []
    job = Job("count", timedelta(minutes=1), lambda _db, now: runs.append(now))
    other_db = Database(db.url)
    replicas = [
        Scheduler(db, [job], tmp_path / "locks"),
        Scheduler(other_db, [job], tmp_path / "locks"),
    ]
    for _ in range(5):
        for replica in replicas:
            replica.run_due()
        frozen_clock.advance(timedelta(seconds=20))
    # t = 0, 20, 40, 60, 80 s: due at 0 and at 60 only, whichever replica got there first.
    assert len(runs) == 2
    assert runs[1] - runs[0] == timedelta(minutes=1)
    other_db.dispose()


def test_concurrent_ticks_run_the_job_once(db: Database, tmp_path: Path) -> None:
    started = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def slow(_db: Database, _now: datetime) -> None:
        calls.append(1)
        started.set()
        release.wait(10)

    job = Job("slow", timedelta(minutes=1), slow)
    first = Scheduler(db, [job], tmp_path / "locks")
    second_db = Database(db.url)
    second = Scheduler(second_db, [job], tmp_path / "locks")
    thread = threading.Thread(target=first.run_due)
    thread.start()
    assert started.wait(10)
    assert second.run_due() == []  # locked out while the first replica runs it
    release.set()
    thread.join()
    assert calls == [1]
    second_db.dispose()


def test_a_failing_job_is_recorded_and_others_still_run(db: Database, tmp_path: Path) -> None:
    def broken(_db: Database, _now: datetime) -> None:
        raise ValueError("boom")

    ok: list[int] = []
    scheduler = Scheduler(
        db,
        [
            Job("broken", timedelta(minutes=1), broken),
            Job("fine", timedelta(minutes=1), lambda _db, _now: ok.append(1)),
        ],
        tmp_path / "locks",
    )
    assert scheduler.run_due() == ["fine"]
    assert ok == [1]
    errors = {run.job: run.error for run in last_runs(db)}
    assert errors == {"broken": "ValueError: boom", "fine": ""}


def test_each_run_is_timed_and_each_failure_counted_on_metrics(
    db: Database, tmp_path: Path
) -> None:
    name = f"timed-{uuid.uuid4().hex[:8]}"  # metrics live as long as the process: own names

    def slow(_db: Database, _now: datetime) -> None:
        time.sleep(0.03)

    def broken(_db: Database, _now: datetime) -> None:
        raise ValueError("boom")

    jobs = [Job(name, timedelta(minutes=1), slow), Job(f"{name}-x", timedelta(minutes=1), broken)]
    before = time.time()
    assert Scheduler(db, jobs, tmp_path / "locks").run_due() == [name]

    def sample(metric: str, job: str) -> float | None:
        return REGISTRY.get_sample_value(f"opsloop_scheduler_job_{metric}", {"job": job})

    assert sample("duration_seconds_count", name) == 1
    assert 0.03 <= (sample("duration_seconds_sum", name) or 0) < 5
    assert sample("duration_seconds_count", f"{name}-x") == 1
    assert sample("failures_total", f"{name}-x") == 1
    assert sample("failures_total", name) in (None, 0)
    assert (sample("last_success_timestamp_seconds", name) or 0) >= before
    assert sample("last_success_timestamp_seconds", f"{name}-x") is None


def test_a_job_overrunning_its_interval_is_not_started_again_while_it_runs(
    db: Database, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    # scheduler_runs alone would start it again once the interval has passed; only the lock
    # knows that the first run is still going.
    started = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def slow(_db: Database, _now: datetime) -> None:
        calls.append(1)
        started.set()
        release.wait(10)

    job = Job("slow", timedelta(minutes=1), slow)
    second_db = Database(db.url)
    replicas = [
        Scheduler(db, [job], tmp_path / "locks"),
        Scheduler(second_db, [job], tmp_path / "locks"),
    ]
    thread = threading.Thread(target=replicas[0].run_due)
    thread.start()
    try:
        assert started.wait(10)
        frozen_clock.advance(timedelta(minutes=2))
        assert replicas[1].run_due() == []
    finally:
        release.set()
        thread.join()
    assert calls == [1]
    assert replicas[1].run_due() == ["slow"]  # after the first run ended, it is due again
    second_db.dispose()


def test_job_lock_waits_for_the_holder_when_asked(db: Database, tmp_path: Path) -> None:
    got: list[bool] = []
    with job_lock(db, "manual", tmp_path / "locks") as held:
        assert held
        with job_lock(db, "manual", tmp_path / "locks") as second:
            assert second is False  # without waiting: refused at once
        waiter = threading.Thread(target=lambda: got.append(_take(db, tmp_path)))
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive() and got == []
    waiter.join(10)
    assert got == [True]


def _take(db: Database, tmp_path: Path) -> bool:
    with job_lock(db, "manual", tmp_path / "locks", wait=True) as held:
        return held


def test_jobs_run_at_a_lower_cpu_priority_than_requests(db: Database, tmp_path: Path) -> None:
    ran = threading.Event()
    seen: list[int] = []

    def record_priority(_db: Database, _now: datetime) -> None:
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        ran.set()

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    scheduler = Scheduler(db, [Job("nice", timedelta(minutes=1), record_priority)], tmp_path)
    scheduler.start()
    try:
        assert ran.wait(10)
    finally:
        scheduler.stop()
    assert seen == [min(mine + BACKGROUND_NICE, 19)]
    # Only the scheduler's thread: this one (a request's, in a server) keeps its priority.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine
