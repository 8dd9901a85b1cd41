"""The reliability benchmark at a tiny size, so that it keeps running: its set-up makes valid
incidents and timelines, and its measurement checks the monthly counts. SQLite and PostgreSQL."""

from __future__ import annotations

from benchmarks.incidents import bench_reliability as bench
from sqlalchemy import func, select

from opsloop.core.db import Database
from opsloop.incidents.models import TimelineEvent


def test_the_benchmark_runs_at_a_tiny_size(db: Database) -> None:
    bench.seed_catalog(db)
    bench.seed_incidents(db, 60, 3)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(TimelineEvent)) == 180
    results = bench.measure(db, 60, 1)
    assert set(results) == set(bench.CASES)
    assert results["by month"]["groups"] == 12
    assert results["by team"]["groups"] <= len(bench.TEAMS) + 1
