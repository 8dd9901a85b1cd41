"""Reliability figures over a year of incidents: monthly, by service and by team.

Usage: python -m benchmarks.incidents.bench_reliability [--incidents 100000] [--events 10]
       [--backend sqlite|postgresql|both] [--runs 5]

A fresh, migrated database (temporary SQLite file or a new PostgreSQL database, dropped at the
end) with 8 teams owning 40 catalog services (5 more unowned), made through the service layer.
Then, as set-up (not measured), ``--incidents`` incidents spread evenly over 2025 (one or two
services each, all four severities, 90 % resolved after 10 minutes to 10 hours, most
acknowledged and mitigated) are bulk-inserted with their services, and ``--events`` timeline
entries each are made by one ``INSERT ... SELECT``. Measured: ``reliability.report`` over the
year by month, by service and by team, and by month for one team (``--runs`` runs each; the
median and the slowest are reported). Every run's monthly counts must add up to the
incidents made, or the benchmark fails.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from benchmarks.slo.common import BACKENDS, fresh_database, log
from sqlalchemy import insert, text

from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.incidents import reliability
from opsloop.incidents.models import Incident, IncidentService
from opsloop.incidents.rules import Severity, Status, incident_key
from opsloop.incidents.vocabulary import DetectionMethod
from opsloop.services import service as catalog
from opsloop.services import teams
from opsloop.services.entries import ServiceEntry, TeamEntry

YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 1, 1, tzinfo=UTC)
TEAMS = [f"team-{n}" for n in range(8)]
SERVICES = [f"svc-{n:02d}" for n in range(45)]  # the last 5 unowned
BATCH = 5000


def seed_catalog(db: Database) -> None:
    with db.write() as session:
        for name in TEAMS:
            teams.create_team(session, principal=SYSTEM, entry=TeamEntry(name=name))
        for n, name in enumerate(SERVICES):
            owner = TEAMS[n % len(TEAMS)] if n < 40 else None
            entry = ServiceEntry(name=name, owner_team=owner)
            catalog.create_service(session, principal=SYSTEM, entry=entry)


def _incident(n: int, rng: random.Random, span: float) -> dict[str, object]:
    started = YEAR_START + timedelta(seconds=span * (n + rng.random()))
    detected = started + timedelta(seconds=rng.randrange(0, 1800))
    resolved = (
        started + timedelta(seconds=rng.randrange(600, 36000)) if rng.random() < 0.9 else None
    )
    acked = detected + timedelta(seconds=rng.randrange(0, 900)) if rng.random() < 0.95 else None
    mitigated = started + (resolved - started) / 2 if resolved and rng.random() < 0.7 else None
    return {
        "key": incident_key(9000 + n // 100_000, n % 100_000 + 1),
        "year": 9000 + n // 100_000,
        "number": n % 100_000 + 1,
        "title": f"incident {n}",
        "summary": "",
        "severity": rng.choice(list(Severity)),
        "status": Status.resolved if resolved else Status.investigating,
        "detection_method": DetectionMethod.alert,
        "features_impacted": "[]",
        "revenue_impact": "",
        "started_at": started,
        "detected_at": detected,
        "declared_at": detected,
        "acknowledged_at": acked,
        "mitigated_at": mitigated,
        "resolved_at": resolved,
        "resolution": "{}",
        "declared_by": "bench",
        "updated_at": detected,
    }


def seed_incidents(db: Database, count: int, events: int) -> None:
    """Bulk set-up: incidents and their services in batches, the timeline in one statement."""
    rng = random.Random(7)
    span = (YEAR_END - YEAR_START).total_seconds() / count
    with db.write(audited=False) as session:
        for first in range(0, count, BATCH):
            rows = [_incident(n, rng, span) for n in range(first, min(first + BATCH, count))]
            ids = list(
                session.scalars(
                    insert(Incident).returning(Incident.id, sort_by_parameter_order=True), rows
                )
            )
            links = [
                {"incident_id": i, "service": s}
                for i in ids
                for s in rng.sample(SERVICES, 1 if rng.random() < 0.7 else 2)
            ]
            session.execute(insert(IncidentService), links)
        numbers = ", ".join(f"({k})" for k in range(events))
        session.execute(
            text(
                f"WITH n(k) AS (VALUES {numbers}) "
                "INSERT INTO incident_timeline (incident_id, at, kind, author, text, automatic, "
                "change, audience, next_update_at) "
                "SELECT i.id, i.detected_at, 'note', 'bench', 'entry', false, '', NULL, NULL "
                "FROM incidents i CROSS JOIN n"
            )
        )
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("ANALYZE")


CASES = {
    "by month": {"by": "month"},
    "by service": {"by": "service"},
    "by team": {"by": "team"},
    "by month, one team": {"by": "month", "team": TEAMS[0]},
}


def measure(db: Database, count: int, runs: int) -> dict[str, dict[str, float]]:
    results = {}
    for name, options in CASES.items():
        times, cpu = [], []
        for _ in range(runs):
            began, began_cpu = time.perf_counter(), time.process_time()
            with db.read() as session:
                found = reliability.report(
                    session,
                    since=YEAR_START,
                    until=YEAR_END,
                    **options,  # type: ignore[arg-type]
                )
            times.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
            if name == "by month" and sum(g.incidents for g in found.groups) != count:
                raise SystemExit(f"monthly counts do not add up to {count}")
        results[name] = {
            "groups": len(found.groups),
            "median_s": round(statistics.median(times), 3),
            "max_s": round(max(times), 3),
            # This process's CPU: all of the work on SQLite, only the client's on PostgreSQL.
            "median_cpu_s": round(statistics.median(cpu), 3),
        }
        log(f"  {name}: {results[name]}")
    return results


def machine_load() -> str:
    with open("/proc/loadavg", encoding="utf-8") as f:
        return " ".join(f.read().split()[:3])


def run(backend: str, count: int, events: int, runs: int) -> dict[str, object]:
    with fresh_database(backend, "reliability") as db:
        seed_catalog(db)
        began = time.perf_counter()
        seed_incidents(db, count, events)
        log(f"{backend}: {count} incidents set up in {time.perf_counter() - began:.1f} s")
        before = machine_load()
        cases = measure(db, count, runs)
        return {
            "incidents": count,
            "events_each": events,
            "load_average_before_after": [before, machine_load()],
            "cases": cases,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    args = parser.parse_args()
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    results = {b: run(b, args.incidents, args.events, args.runs) for b in backends}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
