"""The reviews' minute job (pir-watch) over a year of incidents.

Usage: python -m benchmarks.incidents.bench_review_watch [--incidents 100000] [--runs 10]
       [--backend sqlite|postgresql|both] [--out results.json]

Set-up, not measured: the year of incidents of ``bench_reliability`` (catalog, ``--incidents``
spread evenly over 2025, 90 % resolved, all four severities, one timeline entry each), then a
review for most of those that need one (SEV1 and SEV2 resolved): 80 % published, 10 % still a
draft, 10 % never started. The job runs at the end of 2025, so its 90-day window holds about a
quarter of the incidents.

Measured, through ``opsloop.pirs.jobs.announce_overdue`` in one write transaction as the
scheduler runs it: the first run (it announces every overdue review of the window, each with
an outbox entry) and then ``--runs`` runs with nothing new to announce, the state the job is in
every minute after. Each run reports wall time, this process's CPU and, on PostgreSQL, the
database's CPU. The first run must announce exactly the never-started and draft reviews of the
window that are past their deadline, and every later run none, or the benchmark fails.
"""

from __future__ import annotations

import argparse
import random
import statistics
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.incidents.bench_reliability import YEAR_END, seed_catalog, seed_incidents
from benchmarks.slo.common import (
    BACKENDS,
    CpuMeter,
    fresh_database,
    log,
    machine,
    write_results,
)
from sqlalchemy import insert, select

from opsloop.core.db import Database
from opsloop.incidents.models import Incident
from opsloop.incidents.rules import Severity
from opsloop.pirs import jobs
from opsloop.pirs.models import Pir
from opsloop.pirs.rules import PirState
from opsloop.pirs.service import DEFAULT_POLICY

REQUIRED = [Severity(name) for name in sorted(DEFAULT_POLICY.required)]
DUE = timedelta(hours=DEFAULT_POLICY.due_hours)


def seed_reviews(db: Database) -> int:
    """Reviews for the incidents that need one; returns how many the window has overdue."""
    rng = random.Random(11)
    since, deadline = YEAR_END - jobs.WATCHED, YEAR_END - DUE
    with db.write(audited=False) as session:
        needing = session.execute(
            select(Incident.id, Incident.key, Incident.started_at, Incident.resolved_at)
            .where(Incident.severity.in_(REQUIRED), Incident.resolved_at.is_not(None))
            # In id order, so both databases give the same incidents the same reviews.
            .order_by(Incident.id)
        ).all()
        rows, overdue = [], 0
        for incident_id, key, started_at, resolved_at in needing:
            draw = rng.random()
            state = PirState.published if draw < 0.8 else PirState.draft if draw < 0.9 else None
            if state is not PirState.published and started_at >= since and resolved_at < deadline:
                overdue += 1
            if state is None:
                continue
            done = resolved_at + timedelta(hours=rng.randrange(2, 40))
            rows.append(
                {
                    "incident_id": incident_id,
                    "incident_key": key,
                    "state": state,
                    "revision": 1,
                    "content": "{}",
                    "review_meeting": None,
                    "created_by": "bench",
                    "created_at": resolved_at,
                    "updated_by": "bench",
                    "updated_at": done,
                    "published_at": done if state is PirState.published else None,
                }
            )
        for first in range(0, len(rows), 5000):
            session.execute(insert(Pir), rows[first : first + 5000])
    log(f"{len(rows)} reviews for {len(needing)} incidents that need one; {overdue} overdue")
    return overdue


def one_run(db: Database, meter: CpuMeter) -> tuple[int, dict[str, Any]]:
    meter.start()
    with db.write(audited=False) as session:
        announced = jobs.announce_overdue(session, now=YEAR_END, policy=DEFAULT_POLICY)
    return len(announced), meter.stop()


def run(backend: str, count: int, runs: int) -> dict[str, Any]:
    with fresh_database(backend, "review_watch") as db:
        seed_catalog(db)
        seed_incidents(db, count, 1)
        overdue = seed_reviews(db)
        meter = CpuMeter.of(db)
        try:
            announced, first = one_run(db, meter)
            log(f"{backend}: first run announced {announced}: {first}")
            if announced != overdue:
                raise SystemExit(f"the first run announced {announced}, not {overdue}")
            later = []
            for _ in range(runs):
                again, measured = one_run(db, meter)
                if again:
                    raise SystemExit(f"a later run announced {again} again")
                later.append(measured)
        finally:
            meter.close()
        summary = {
            key: round(statistics.median(m[key] for m in later), 4)
            for key in ("wall_s", "own_cpu_s", "postgresql_cpu_s", "other_cores")
        }
        summary["max_wall_s"] = max(m["wall_s"] for m in later)
        log(f"{backend}: later runs, median of {runs}: {summary}")
        return {
            "machine": machine(backend),
            "incidents": count,
            "overdue_announced": overdue,
            "first_run": first,
            "later_runs": summary,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    results = {b: run(b, args.incidents, args.runs) for b in backends}
    write_results(args.out, {"benchmark": "review_watch", "results": results})


if __name__ == "__main__":
    main()
