"""Background jobs inside ``opsloop serve``: SLO evaluation, due dates, escalations.

Each job runs at most once per interval across all replicas. A replica first takes a lock —
a PostgreSQL advisory lock, or on SQLite (one host by nature) an exclusive file lock — and then
checks ``scheduler_runs`` for when the job last started; a replica that loses either check skips
that tick. So scaling out is only adding processes. The lock also keeps a job that overruns its
interval from starting again while it still runs, and lets a command run a job by hand without
racing the scheduler (:func:`job_lock`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import select, text

from opsloop.core import clock
from opsloop.core.db import Database
from opsloop.core.scheduler_models import SchedulerRun

log = logging.getLogger("opsloop.scheduler")

# Written by the process that runs the jobs (the supervising one beside several workers) and
# summed into every worker's /metrics with the request metrics. A job's time is CPU taken from
# the requests answered beside it, and a job that stops succeeding is an alert of its own.
JOB_SECONDS = Histogram(
    "opsloop_scheduler_job_duration_seconds",
    "Time each run of a background job took, failed runs included, by job.",
    ["job"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
JOB_FAILURES = Counter(
    "opsloop_scheduler_job_failures_total",
    "Runs of a background job that ended in an error, by job.",
    ["job"],
)
JOB_LAST_SUCCESS = Gauge(
    "opsloop_scheduler_job_last_success_timestamp_seconds",
    "When a run of the job last ended without an error (Unix time), by job.",
    ["job"],
    multiprocess_mode="max",
)


@dataclass(frozen=True)
class Job:
    name: str
    interval: timedelta
    run: Callable[[Database, datetime], object]


class Scheduler:
    def __init__(self, db: Database, jobs: list[Job], lock_dir: Path, tick: float = 5.0) -> None:
        self.db = db
        self.jobs = jobs
        self.lock_dir = lock_dir
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="opsloop-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        lower_priority()
        while not self._stop.is_set():
            self.run_due()
            self._stop.wait(self.tick)

    def run_due(self) -> list[str]:
        """Run every job that is due here and now; returns the names of those that ran."""
        ran = []
        for job in self.jobs:
            try:
                if self._run_if_due(job):
                    ran.append(job.name)
            except Exception:
                log.exception("job %s failed", job.name)
        return ran

    def _run_if_due(self, job: Job) -> bool:
        with job_lock(self.db, job.name, self.lock_dir) as acquired:
            if not acquired:
                return False
            now = clock.now()
            with self.db.write(audited=False) as session:
                run = session.get(SchedulerRun, job.name)
                if run is not None and run.started_at + job.interval > now:
                    return False
                if run is None:
                    run = SchedulerRun(job=job.name, started_at=now)
                    session.add(run)
                run.started_at, run.finished_at, run.error = now, None, ""
            error = ""
            started = time.perf_counter()
            try:
                job.run(self.db, now)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:1000]
                JOB_FAILURES.labels(job.name).inc()
                raise
            else:
                JOB_LAST_SUCCESS.labels(job.name).set(time.time())
            finally:
                JOB_SECONDS.labels(job.name).observe(time.perf_counter() - started)
                with self.db.write(audited=False) as session:
                    row = session.get(SchedulerRun, job.name)
                    if row is not None:
                        row.finished_at, row.error = clock.now(), error
            return True


#: The nice value background threads run at: requests come first on a busy host.
BACKGROUND_NICE = 10


def lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux schedules threads one by one).

    A background job (the minute's evaluation of every SLO) needs a burst of CPU; at normal
    priority that burst takes the cores from the requests being answered beside it, and shows
    as their slowest answers. Niced, it waits for idle moments; it has a minute to finish."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        log.debug("background thread keeps normal priority")


@contextmanager
def job_lock(db: Database, name: str, lock_dir: Path, *, wait: bool = False) -> Iterator[bool]:
    """Hold the lock of job ``name`` (yields True), or yield False at once if another process
    holds it; ``wait=True`` waits for it instead."""
    if db.dialect == "postgresql":
        key = zlib.crc32(f"opsloop.job.{name}".encode())
        take = "SELECT pg_advisory_lock(:k)" if wait else "SELECT pg_try_advisory_lock(:k)"
        with db.engine.connect() as conn:
            taken = conn.execute(text(take), {"k": key}).scalar()
            got = wait or bool(taken)  # pg_advisory_lock returns once it holds the lock
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    with (lock_dir / f"job-{name}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def last_runs(db: Database) -> list[SchedulerRun]:
    with db.read() as session:
        return list(session.scalars(select(SchedulerRun).order_by(SchedulerRun.job)))
