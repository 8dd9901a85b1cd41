"""Shared by the SLO benchmarks: fresh databases, machine facts, timing and result files."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import make_url

from opsloop.core import migrate
from opsloop.core.db import Database

#: A server reachable with trust authentication; benchmark databases are created on it.
PG_ADMIN_URL = os.environ.get(
    "OPSLOOP_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pg_url(database: str, driver: str = "postgresql+psycopg") -> str:
    url = make_url(PG_ADMIN_URL).set(drivername=driver, database=database)
    return url.render_as_string(hide_password=False)


def pg_admin() -> psycopg.Connection[Any]:
    return psycopg.connect(pg_url("postgres", "postgresql"), autocommit=True)


@contextmanager
def fresh_database_url(backend: str, label: str) -> Iterator[str]:
    """The URL of a new, empty database (not yet migrated); removed again afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"opsloop-{label}-") as directory:
            yield f"sqlite:///{Path(directory) / 'opsloop.db'}"
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}; use sqlite or postgresql")
    name = f"opsloop_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        with pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(backend: str, label: str) -> Iterator[Database]:
    """A new database with opsloop's schema; dropped (or deleted) when the block ends."""
    with fresh_database_url(backend, label) as url, _migrated(url) as db:
        yield db


@contextmanager
def kept_database(backend: str, where: str) -> Iterator[Database]:
    """A database kept between runs: a SQLite file path, or a PostgreSQL database name; made
    (and migrated) if missing, left in place afterwards."""
    if backend == "sqlite":
        Path(where).parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(where).resolve()}"
    else:
        with pg_admin() as admin:
            found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (where,))
            if found.fetchone() is None:
                admin.execute(f'CREATE DATABASE "{where}"')
        url = pg_url(where)
    with _migrated(url) as db:
        yield db


@contextmanager
def _migrated(url: str) -> Iterator[Database]:
    db = Database(url)
    try:
        migrate.upgrade(db.engine)
        yield db
    finally:
        db.dispose()


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


TICK = os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> int:
    """Busy CPU ticks of the whole machine so far (user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text(encoding="utf-8").splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return user + nice + system + irq + softirq + steal


def process_ticks(pids: list[int]) -> dict[int, int]:
    """CPU ticks (user + system) used so far by each process still alive."""
    out = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[pid] = int(fields[11]) + int(fields[12])
    return out


def children(pid: int) -> list[int]:
    """A process and all its descendants."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                listed = (task / "children").read_text(encoding="utf-8").split()
            except OSError:
                continue
            queue.extend(int(c) for c in listed)
    return found


class CpuMeter:
    """Who used the machine's cores during a measurement.

    Besides wall-clock time: CPU seconds of this process, of the PostgreSQL backends connected to
    the benchmark database (``database``), of other processes given by ``pids`` (a server), and
    what everything else on the machine used meanwhile — other work competing for the cores.
    """

    def __init__(self, database: str | None = None, pids: Any = None) -> None:
        self.database = database
        self.pids = pids or (lambda: [])
        self._admin = pg_admin() if database else None

    @classmethod
    def of(cls, db: Database) -> CpuMeter:
        """A meter of ``db``'s own PostgreSQL backends (none on SQLite)."""
        return cls(db.engine.url.database if db.dialect == "postgresql" else None)

    def _backends(self) -> list[int]:
        if self._admin is None:
            return []
        rows = self._admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database,),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def _slow(self) -> tuple[int, dict[int, int], dict[int, int]]:
        return _machine_ticks(), process_ticks(self._backends()), process_ticks(self.pids())

    def start(self) -> None:
        self._ticks = self._slow()
        self._clock = time.perf_counter(), time.process_time()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._clock[0]
        own = time.process_time() - self._clock[1]
        machine, db, server = self._slow()
        busy = (machine - self._ticks[0]) / TICK
        db_cpu = sum(t - self._ticks[1].get(pid, 0) for pid, t in db.items()) / TICK
        server_cpu = sum(t - self._ticks[2].get(pid, 0) for pid, t in server.items()) / TICK
        rest = max(0.0, busy - own - db_cpu - server_cpu)
        return {
            "wall_s": round(wall, 4),
            "own_cpu_s": round(own, 3),
            "server_cpu_s": round(server_cpu, 2),
            "postgresql_cpu_s": round(db_cpu, 2),
            "other_cores": round(rest / max(wall, 1e-9), 2),
        }

    def wait_quiet(self, max_other_cores: float, timeout: float) -> float:
        """Wait (up to ``timeout`` s) until other work uses under ``max_other_cores`` for 3 s.

        Returns the cores other work used in the last sample, to be reported with the results.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.start()
            time.sleep(3)
            other = self.stop()["other_cores"]
            if other < max_other_cores or time.monotonic() >= deadline:
                return other
            log(f"other work uses {other:.2f} cores; waiting for a quieter machine")

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def add_quiet_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each measurement, wait up to this long for other work to calm down",
    )
    parser.add_argument(
        "--quiet-cores",
        type=float,
        default=0.5,
        help="'calm': other processes use fewer cores than this (default 0.5)",
    )
    parser.add_argument(
        "--attempts",
        type=int,
        default=3,
        help="measure again (up to this many times in all) when other work used more cores "
        "than --quiet-cores meanwhile; the least disturbed attempt is kept",
    )


def least_disturbed(
    meter: CpuMeter, args: argparse.Namespace, attempt: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Run a measurement until other work stayed calm during it (see ``add_quiet_options``).

    ``attempt`` measures with ``meter`` and returns its result including ``other_cores``.
    """
    best: dict[str, Any] | None = None
    for number in range(1, max(1, args.attempts) + 1):
        if args.quiet_timeout:
            meter.wait_quiet(args.quiet_cores, args.quiet_timeout)
        result = {**attempt(), "attempt": number}
        if best is None or result["other_cores"] < best["other_cores"]:
            best = result
        if result["other_cores"] < args.quiet_cores:
            break
        log(f"other work used {result['other_cores']:.2f} cores meanwhile; measuring again")
    assert best is not None
    return best


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def latency_summary(seconds: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(seconds) * 1000, 2),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(backend: str) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    if backend == "postgresql":
        with pg_admin() as admin:
            row = admin.execute("SHOW server_version").fetchone()
            facts["postgresql"] = row[0] if row else ""
    return facts


def write_results(path: Path | None, doc: dict[str, Any]) -> None:
    doc = {"date": datetime.now(UTC).isoformat(timespec="seconds"), **doc}
    text = json.dumps(doc, indent=2, default=str) + "\n"
    if path is None:
        sys.stdout.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    log(f"results: {path}")
