"""Evaluating every pushed SLO at once: opsloop.slo.evaluation.evaluate and the window sums.

    .venv/bin/python benchmarks/slo/bench_evaluate.py --backend sqlite --slos 1000 --days 30
    .venv/bin/python benchmarks/slo/bench_evaluate.py --backend postgresql --slos 1000 --days 30

A fresh database (a temporary SQLite file, or a new PostgreSQL database dropped at the end) gets
``--slos`` pushed SLOs created through the service layer, then ``--days`` x 1440 minute buckets
per SLO loaded directly in SQL (setup, not measured). Every minute has total = 1000 and
good = 999, except a 60-minute burst per SLO with good = 800; SLOs whose id is a multiple of 100
have their burst in the last hour before ``now``, so their page alerts fire.

Measured at a fixed ``now``, with the collector set as in the process that runs the scheduler
(``opsloop.core.collector.settle_for_serving``: what the process holds so far frozen, so the
collector's full passes do not walk the benchmark's own start-up objects, and the serving
thresholds); ``--no-gc-freeze`` measures with neither:

* ``evaluate`` cold: an evaluation as the first one after a (re)start: no stored spec parsed yet,
  no evaluation stored yet, so it also records the first policy state of every SLO and the
  alerts that fire. ``--cold-runs`` times, the state reset before each; the first and the median;
* ``evaluate`` warm: the median of ``--warm-runs`` evaluations, ``now`` one minute later each
  (and the same again with ``persist=False``);
* ``evaluate`` warm at the half hour: the same as warm, at the minutes whose window sums read
  the most rows (``AWKWARD_END`` and after; ``now`` above is on the hour, where they read the
  fewest), after one unmeasured evaluation there that stores the state they carry forward;
* ``window_counts``: only the window sums (the 7 alert windows and the budget period) for all
  SLOs in one call, first call and median of the repeats; once ending at ``now`` and once at an
  end that reads the most minute and hour rows (``AWKWARD_END``).

Counts of sample SLOs are checked against closed-form expectations after each run, so a fast
but wrong result fails the benchmark. ``--profile PREFIX`` adds a profiled cold and warm run.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import pstats
import sqlite3
import statistics
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from common import (
    BACKENDS,
    CpuMeter,
    add_quiet_options,
    fresh_database,
    kept_database,
    least_disturbed,
    load_average,
    log,
    machine,
    timed,
    write_results,
)
from sqlalchemy import delete, func, select, update

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.collector import settle_for_serving
from opsloop.core.db import Database, UTCDateTime
from opsloop.slo import evaluation, events, previous
from opsloop.slo import service as slo_service
from opsloop.slo.math import EventCounts, NoData
from opsloop.slo.models import SLO, AlertEvent, Evaluation, EventBucket
from opsloop.slo.status import SLOStatus
from opsloop.slo.windows import ALERT_WINDOWS as WINDOWS

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
PERIOD = timedelta(days=30)
TOTAL, GOOD, BURST_GOOD, BURST_MINUTES = 1000, 999, 800, 60
OBJECTIVES = (99.0, 99.5, 99.9)
SLOS_PER_SERVICE = 10
# Issue 7: the first evaluation of every SLO after a start, and each later one.
TARGET_S = {"cold": 1.0, "warm": 0.5}
LOAD_CHUNK = 25  # SLOs per INSERT ... SELECT statement


@dataclass(frozen=True)
class Dataset:
    """The loaded buckets: ``minutes`` per SLO, the first at ``first``, the last before NOW."""

    minutes: int

    @property
    def first(self) -> datetime:
        return NOW - self.minutes * MINUTE

    @property
    def burst_span(self) -> int:
        return self.minutes - BURST_MINUTES

    def burst_sql(self, column: str) -> str:
        """The index of an SLO's first burst minute, as SQL (same rule as :meth:`burst_start`)."""
        span = self.burst_span
        return f"CASE WHEN {column} % 100 = 0 THEN {span} ELSE ({column} * 7919) % {span} END"

    def burst_start(self, slo_id: int) -> int:
        return self.burst_span if slo_id % 100 == 0 else (slo_id * 7919) % self.burst_span

    def expected(self, slo_id: int, start: datetime, end: datetime) -> EventCounts:
        """Closed form of the counts in ``[start, end)``."""
        low = max(0, math.ceil((start - self.first) / MINUTE))
        high = min(self.minutes, math.ceil((end - self.first) / MINUTE))
        stored = max(0, high - low)
        burst = self.burst_start(slo_id)
        overlap = max(0, min(high, burst + BURST_MINUTES) - max(low, burst))
        return EventCounts(good=GOOD * stored - (GOOD - BURST_GOOD) * overlap, total=TOTAL * stored)


def objective_of(index: int) -> float:
    return OBJECTIVES[index % len(OBJECTIVES)]


def create_slos(db: Database, count: int) -> list[int]:
    ids = []
    with db.write() as session:
        for index in range(count):
            defn = slo_service.pushed_definition(
                service=f"bench-{index // SLOS_PER_SERVICE:04d}",
                name=f"availability-{index:05d}",
                objective=objective_of(index),
                window="30d",
                time_zone="UTC",
                sli_kind="availability",
                description="benchmark SLO",
                owner="bench",
                labels={},
            )
            ids.append(slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id)
    return ids


# ------------------------------------------------------------------------------------------
# Bulk load (setup)


# Each minute's hour and day, as the roll-up tables store them (the same as migration 0007).
ROLLUP_START_PG = {
    "slo_event_hours": ("hour", "date_trunc('hour', minute, 'UTC')"),
    "slo_event_days": ("day", "date_trunc('day', minute, 'UTC')"),
}
ROLLUP_START_SQLITE = {
    "slo_event_hours": ("hour", "substr(minute, 1, 13) || ':00:00.000000'"),
    "slo_event_days": ("day", "substr(minute, 1, 10) || ' 00:00:00.000000'"),
}


def _rollups(starts: dict[str, tuple[str, str]], low: str, high: str) -> list[str]:
    """Fill the hour and day roll-ups of a range of SLOs from their loaded minutes."""
    return [
        f"INSERT INTO {table} (slo_id, {key}, good, total) "
        f"SELECT slo_id, {start}, SUM(good), SUM(total) FROM slo_event_buckets "
        f"WHERE slo_id >= {low} AND slo_id <= {high} GROUP BY slo_id, {start}"
        for table, (key, start) in starts.items()
    ]


def _load_postgresql(db: Database, data: Dataset, ids: Sequence[int]) -> None:
    statement = f"""
        INSERT INTO slo_event_buckets (slo_id, minute, good, total)
        SELECT s.id,
               %(first)s::timestamptz + k * interval '1 minute',
               CASE WHEN k >= s.b AND k < s.b + {BURST_MINUTES} THEN {BURST_GOOD} ELSE {GOOD} END,
               {TOTAL}
        FROM (SELECT id, {data.burst_sql("id").replace("%", "%%")} AS b FROM slos
              WHERE id >= %(low)s AND id <= %(high)s) AS s
        CROSS JOIN generate_series(0, {data.minutes - 1}) AS k
        ORDER BY s.id, k
    """
    chunks = [ids[i : i + LOAD_CHUNK] for i in range(0, len(ids), LOAD_CHUNK)]
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                # Rows reference existing SLOs by construction; skip the per-row FK trigger.
                conn.execute("SET session_replication_role = replica")
                conn.execute("SET synchronous_commit = off")
                while True:
                    with lock:
                        if not chunks or failures:
                            return
                        chunk = chunks.pop(0)
                    params = {"first": data.first, "low": chunk[0], "high": chunk[-1]}
                    conn.execute(statement, params)
                    for rollup in _rollups(ROLLUP_START_PG, "%(low)s", "%(high)s"):
                        conn.execute(rollup, {"low": chunk[0], "high": chunk[-1]})
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    with psycopg.connect(url, autocommit=True) as conn:
        # What autovacuum would do soon after a load this size: statistics and visibility map.
        for table in ("slo_event_buckets", *ROLLUP_START_PG):
            conn.execute(f"VACUUM (ANALYZE) {table}")


def _load_sqlite(db: Database, data: Dataset, ids: Sequence[int]) -> None:
    path = db.engine.url.database
    assert path
    dialect = db.engine.dialect
    to_db = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert to_db is not None
    db.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # For the load only: no journal, no fsync, a large cache. WAL again afterwards.
        conn.execute("PRAGMA journal_mode=MEMORY")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("CREATE TEMP TABLE bench_minutes (k INTEGER PRIMARY KEY, minute TEXT)")
        conn.executemany(
            "INSERT INTO bench_minutes VALUES (?, ?)",
            ((k, to_db(data.first + k * MINUTE)) for k in range(data.minutes)),
        )
        statement = f"""
            INSERT INTO slo_event_buckets (slo_id, minute, good, total)
            SELECT s.id, m.minute,
                   CASE WHEN m.k >= s.b AND m.k < s.b + {BURST_MINUTES}
                        THEN {BURST_GOOD} ELSE {GOOD} END,
                   {TOTAL}
            FROM (SELECT id, {data.burst_sql("id")} AS b FROM slos
                  WHERE id >= ? AND id <= ? ORDER BY id) AS s
            CROSS JOIN bench_minutes AS m
        """
        conn.execute("BEGIN")
        for start in range(0, len(ids), LOAD_CHUNK):
            chunk = ids[start : start + LOAD_CHUNK]
            conn.execute(statement, (chunk[0], chunk[-1]))
            for rollup in _rollups(ROLLUP_START_SQLITE, ":low", ":high"):
                conn.execute(rollup, {"low": chunk[0], "high": chunk[-1]})
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def load(db: Database, data: Dataset, ids: Sequence[int]) -> None:
    if db.dialect == "postgresql":
        _load_postgresql(db, data, ids)
    else:
        _load_sqlite(db, data, ids)


def database_bytes(db: Database) -> int:
    if db.dialect == "postgresql":
        with db.read() as session:
            return int(session.scalar(select(func.pg_database_size(func.current_database()))))
    path = db.engine.url.database
    assert path
    return sum(p.stat().st_size for p in Path(path).parent.glob(f"{Path(path).name}*"))


# ------------------------------------------------------------------------------------------
# Checks


def samples(ids: Sequence[int]) -> list[int]:
    firing = [i for i in ids if i % 100 == 0]
    chosen = {ids[0], ids[len(ids) // 2], ids[-1], *firing[:2]}
    return sorted(chosen)


def check_counts(
    data: Dataset, slo_id: int, got: EventCounts, start: datetime, end: datetime
) -> None:
    want = data.expected(slo_id, start, end)
    if (got.good, got.total) != (want.good, want.total):
        raise AssertionError(
            f"SLO {slo_id} [{start:%m-%d %H:%M}, {end:%m-%d %H:%M}): "
            f"got {got.good}/{got.total}, expected {want.good}/{want.total}"
        )


def check_statuses(
    data: Dataset, statuses: dict[int, SLOStatus], ids: Sequence[int], now: datetime
) -> None:
    if sorted(statuses) != sorted(ids):
        raise AssertionError(f"{len(statuses)} statuses for {len(ids)} SLOs")
    for slo_id in samples(ids):
        status = statuses[slo_id]
        start = now - PERIOD
        want = data.expected(slo_id, start, now)
        if status.counts != (want.good, want.total):
            raise AssertionError(f"SLO {slo_id}: period counts {status.counts}, expected {want}")
        for window in WINDOWS:
            got = status.error_ratios[window]
            expected = data.expected(slo_id, now - window, now).error_ratio
            same = (
                isinstance(got, NoData)
                if isinstance(expected, NoData)
                else (not isinstance(got, NoData) and got == expected)
            )
            if not same:
                raise AssertionError(
                    f"SLO {slo_id}, {window}: error ratio {got}, expected {expected}"
                )
        paging = any(a.result.severity == "page" and a.state != "inactive" for a in status.alerts)
        if now == NOW and slo_id % 100 == 0 and not paging:
            raise AssertionError(
                f"SLO {slo_id}: its burst should page (pending or firing) at {now}"
            )


def check_windows(
    data: Dataset,
    sums: dict[int, list[EventCounts]],
    ids: Sequence[int],
    starts: list[datetime],
    end: datetime = NOW,
) -> None:
    if sorted(sums) != sorted(ids):
        raise AssertionError(f"window sums for {len(sums)} of {len(ids)} SLOs")
    for slo_id in samples(ids):
        for start, got in zip(starts, sums[slo_id], strict=True):
            check_counts(data, slo_id, got, start, end)


# ------------------------------------------------------------------------------------------
# Measurements


def written(db: Database) -> tuple[int, int]:
    with db.read() as session:
        alerts = session.scalar(select(func.count()).select_from(AlertEvent)) or 0
        return int(alerts), audit.count(session)


def evaluate_once(
    db: Database, data: Dataset, ids: Sequence[int], now: datetime, meter: CpuMeter
) -> dict[str, Any]:
    alerts_before, audit_before = written(db)
    meter.start()
    statuses = evaluation.evaluate(db, now=now)
    cpu = meter.stop()
    alerts_after, audit_after = written(db)
    check_statuses(data, statuses, ids, now)
    return {
        "now": now.isoformat(),
        **cpu,
        "alert_events": alerts_after - alerts_before,
        "audit_records": audit_after - audit_before,
    }


def measure_evaluate(
    db: Database, data: Dataset, ids: Sequence[int], args: argparse.Namespace, meter: CpuMeter
) -> dict[str, Any]:
    """Cold runs (state reset before each), warm runs one minute apart, then unpersisted ones,
    then warm runs at the half hour."""

    def cold() -> dict[str, Any]:
        reset_to_cold(db)
        return evaluate_once(db, data, ids, NOW, meter)

    def warm(now: datetime) -> dict[str, Any]:
        return evaluate_once(db, data, ids, now, meter)

    def unpersisted(now: datetime) -> dict[str, Any]:
        meter.start()
        statuses = evaluation.evaluate(db, now=now, persist=False)
        result = {"now": now.isoformat(), **meter.stop()}
        check_statuses(data, statuses, ids, now)
        return result

    runs: dict[str, list[dict[str, Any]]] = {
        "cold": [],
        "warm": [],
        "no_persist": [],
        "warm_half_hour": [],
    }
    for number in range(args.cold_runs):
        runs["cold"].append(least_disturbed(meter, args, cold))
        log(f"evaluate cold {number + 1}: {runs['cold'][-1]}")
    for kind, function in (("warm", warm), ("no_persist", unpersisted)):
        for number in range(1, args.warm_runs + 1):
            now = NOW + number * MINUTE
            runs[kind].append(least_disturbed(meter, args, lambda f=function, t=now: f(t)))
            log(f"evaluate {kind} {number}: {runs[kind][-1]}")
    # The same at the minutes of the hour whose window sums read the most rows; the one
    # evaluation before them (not measured) stores the state that later ones carry forward.
    reset_to_cold(db)
    evaluate_once(db, data, ids, AWKWARD_END, meter)
    for number in range(1, args.warm_runs + 1):
        now = AWKWARD_END + number * MINUTE
        runs["warm_half_hour"].append(least_disturbed(meter, args, lambda t=now: warm(t)))
        log(f"evaluate warm_half_hour {number}: {runs['warm_half_hour'][-1]}")
    seconds = {kind: [r["wall_s"] for r in found] for kind, found in runs.items()}
    return {
        "cold_first_s": seconds["cold"][0],
        "cold_median_s": round(statistics.median(seconds["cold"]), 4),
        "warm_median_s": round(statistics.median(seconds["warm"]), 4),
        "warm_min_s": min(seconds["warm"]),
        "warm_max_s": max(seconds["warm"]),
        "warm_no_persist_median_s": round(statistics.median(seconds["no_persist"]), 4),
        "warm_half_hour_median_s": round(statistics.median(seconds["warm_half_hour"]), 4),
        "warm_half_hour_max_s": max(seconds["warm_half_hour"]),
        "cold_runs": runs["cold"],
        "warm_runs": runs["warm"],
        "no_persist_runs": runs["no_persist"],
        "warm_half_hour_runs": runs["warm_half_hour"],
    }


#: An end that makes the window sums read the most rows: every boundary 30 minutes from an
#: hour and 12 hours from a day, so each needs 30 minute rows and 12 hour rows.
AWKWARD_END = NOW - timedelta(hours=20, minutes=30)


def measure_windows(
    db: Database, data: Dataset, ids: Sequence[int], args: argparse.Namespace, meter: CpuMeter
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, end in (("", NOW), ("awkward_end_", AWKWARD_END)):
        starts = [*(end - w for w in WINDOWS), end - PERIOD]

        def once(end: datetime = end, starts: list[datetime] = starts) -> dict[str, Any]:
            with db.read() as session:
                meter.start()
                sums = events.window_counts(session, ids, end, starts)
                found = meter.stop()
            check_windows(data, sums, ids, starts, end)
            return found

        runs = [least_disturbed(meter, args, once) for _ in range(args.warm_runs + 1)]
        times = [r["wall_s"] for r in runs]
        log(
            f"window_counts ending {end:%m-%d %H:%M}: first {times[0]:.3f} s, "
            f"median {statistics.median(times[1:]):.3f} s"
        )
        result.update(
            {
                f"{name}end": end.isoformat(),
                f"{name}first_s": times[0],
                f"{name}median_s": round(statistics.median(times[1:]), 4),
                f"{name}runs": runs,
            }
        )
    return {"windows": len(WINDOWS) + 1, **result}


def reset_to_cold(db: Database) -> None:
    """Back to the state of a fresh process after the data was loaded: no evaluation, alert
    or policy state stored yet, and no stored spec or result parsed yet."""
    with db.write() as session:
        session.execute(delete(Evaluation))
        session.execute(delete(AlertEvent))
        session.execute(update(SLO).values(policy_state="no_data"))
    if db.dialect == "postgresql":
        # Every evaluation rewrites every stored result. Where autovacuum is off, a kept
        # database's results table grows with every run (1 GB after a few hundred), and its
        # reads by key slow with it: vacuumed here, as autovacuum would keep it.
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM slo_evaluations, slos"
            )
    slo_service.parse_stored.cache_clear()
    previous.forget()


def profile_evaluate(db: Database, now: datetime, path: Path) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    evaluation.evaluate(db, now=now)
    profiler.disable()
    profiler.dump_stats(path)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


def profile(db: Database, prefix: Path) -> list[str]:
    """Profile a cold evaluation (state reset first) and the warm one after it."""
    reset_to_cold(db)
    paths = []
    for name, now in (("cold", NOW), ("warm", NOW + MINUTE)):
        path = prefix.with_name(f"{prefix.name}-{name}.prof")
        log(f"profile of a {name} evaluation:\n{profile_evaluate(db, now, path)}")
        paths.append(str(path))
    return paths


def seed(db: Database, data: Dataset, slos: int, result: dict[str, Any]) -> list[int]:
    log(f"{db.dialect}: creating {slos} pushed SLOs through the service layer")
    seconds, ids = timed(create_slos, db, slos)
    result["setup"] = {"create_slos_s": round(seconds, 2)}
    log(f"created in {seconds:.1f} s; loading {slos * data.minutes:,} buckets")
    seconds, _ = timed(load, db, data, ids)
    result["setup"]["load_s"] = round(seconds, 1)
    result["setup"]["load_rows_per_s"] = round(slos * data.minutes / seconds)
    result["setup"]["database_bytes"] = database_bytes(db)
    log(
        f"loaded in {seconds:.1f} s ({slos * data.minutes / seconds:,.0f} rows/s), "
        f"database {result['setup']['database_bytes'] / 2**30:.2f} GiB"
    )
    return ids


def loaded_ids(db: Database, data: Dataset, slos: int) -> list[int] | None:
    """The SLO ids of a kept database already loaded with this data set; ``None`` if it is
    empty. A kept database loaded with other settings is refused rather than mixed up."""
    with db.read() as session:
        ids = list(session.scalars(select(SLO.id).order_by(SLO.id)))
        if not ids:
            return None
        first, last = session.execute(
            select(func.min(EventBucket.minute), func.max(EventBucket.minute)).where(
                EventBucket.slo_id == ids[-1]
            )
        ).one()
    if len(ids) != slos or first != data.first or last != NOW - MINUTE:
        raise SystemExit(
            f"the kept database holds {len(ids)} SLOs with minutes {first} to {last}; "
            f"--slos {slos} --days {data.minutes // 1440} needs another one"
        )
    return ids


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = Dataset(minutes=args.days * 1440)
    if data.burst_span <= 0:
        raise SystemExit("--days is too small for a 60-minute burst")
    clock.set_clock(clock.FrozenClock(NOW))
    result: dict[str, Any] = {
        "benchmark": "slo-evaluate",
        "backend": args.backend,
        "machine": machine(args.backend),
        "settings": {
            "slos": args.slos,
            "days": args.days,
            "buckets": args.slos * data.minutes,
            "now": NOW.isoformat(),
            "cold_runs": args.cold_runs,
            "warm_runs": args.warm_runs,
            "gc_freeze": not args.no_gc_freeze,
        },
    }
    if args.keep_database:
        opened = kept_database(args.backend, args.keep_database)
    else:
        opened = fresh_database(args.backend, "bench_slo_eval")
    with opened as db:
        ids = loaded_ids(db, data, args.slos) if args.keep_database else None
        if ids is not None:
            log(f"{args.backend}: reusing {args.keep_database} ({args.slos} SLOs already loaded)")
            result["setup"] = {"reused": True}
        else:
            ids = seed(db, data, args.slos, result)
        if not args.no_gc_freeze:
            # As the process that runs the scheduler does once the app is built
            # (opsloop.supervisor, opsloop.worker): what lives as long as the process is frozen,
            # so collections no longer walk it, and young collections run at serving thresholds.
            gc.collect()
            settle_for_serving()
        meter = CpuMeter.of(db)
        result["load_average"] = load_average()
        result["evaluate"] = measure_evaluate(db, data, ids, args, meter)
        result["window_counts"] = measure_windows(db, data, ids, args, meter)
        meter.close()
        result["target_s"] = TARGET_S
        result["meets_target"] = {
            kind: result["evaluate"][f"{kind}_median_s"] < limit for kind, limit in TARGET_S.items()
        }
        result["meets_target"]["warm_half_hour"] = (
            result["evaluate"]["warm_half_hour_median_s"] < TARGET_S["warm"]
        )
        if args.profile:
            result["profiles"] = profile(db, args.profile)
    clock.set_clock(None)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=BACKENDS, required=True)
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--cold-runs", type=int, default=3, help="each after a state reset")
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument("--out", type=Path, help="results JSON (default: stdout)")
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="measure without gc.freeze() (a process whose start-up objects the collector walks)",
    )
    parser.add_argument(
        "--keep-database",
        metavar="PATH_OR_NAME",
        help="load into (or reuse, if already loaded with the same --slos and --days) this "
        "SQLite file or PostgreSQL database, and keep it afterwards; the evaluations the runs "
        "store are reset before the cold ones",
    )
    add_quiet_options(parser)
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="PREFIX",
        help="afterwards, profile a cold and a warm evaluation: PREFIX-cold.prof, PREFIX-warm.prof",
    )
    args = parser.parse_args()
    write_results(args.out, run(args))


if __name__ == "__main__":
    main()
