"""Declaring incidents concurrently: 8 parallel writers, keys unique and gap-free.

Usage: python -m benchmarks.incidents.bench_declare [--writers 8] [--each 50] [--backend sqlite]

A fresh, migrated database (temporary SQLite file or a new PostgreSQL database, dropped at the
end) with one catalog service and one user. ``--writers`` threads, released together, each
declare ``--each`` incidents through the service layer (one ``Database.write()`` per
declaration, as the API does: the incident, its service, two timeline entries and an audit
record); every fifth declaration of each writer is rolled back after taking its number. The
keys are then checked: numbers 1..N of the year with no gap and no repeat. Reports
declarations committed per second (wall clock) and the latency percentiles of one declaration.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

from benchmarks.slo.common import BACKENDS, fresh_database, log
from sqlalchemy import select

from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import SYSTEM, Principal, Role
from opsloop.core.db import Database
from opsloop.incidents import service as incidents
from opsloop.incidents.models import Incident
from opsloop.incidents.rules import Severity
from opsloop.services import service as catalog
from opsloop.services.entries import ServiceEntry

RESPONDER = Principal(actor="bench", role=Role.responder)


class Abandoned(Exception):
    pass


def seed(db: Database) -> None:
    with db.write() as session:
        catalog.create_service(session, principal=SYSTEM, entry=ServiceEntry(name="checkout"))
        auth.create_user(session, principal=SYSTEM, username="alice", role=Role.responder)


def run(db: Database, writers: int, each: int) -> dict[str, object]:
    start = threading.Barrier(writers + 1)
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(number: int) -> None:
        start.wait()
        for round_ in range(each):
            began = time.perf_counter()
            try:
                with db.write() as session:
                    incidents.declare(
                        session,
                        principal=RESPONDER,
                        title=f"writer {number} round {round_}",
                        severity=Severity.SEV3,
                        services=["checkout"],
                        commander="alice",
                    )
                    if round_ % 5 == 4:
                        raise Abandoned
            except Abandoned:
                continue
            except BaseException as exc:
                errors.append(exc)
                return
            with lock:
                latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"a writer failed: {errors[0]!r}")
    with db.read() as session:
        numbers = sorted(session.scalars(select(Incident.number)))
    committed = len(latencies)
    if numbers != list(range(1, committed + 1)):
        raise SystemExit(f"keys are not 1..{committed}: {numbers[:20]}...")
    ordered = sorted(latencies)
    return {
        "writers": writers,
        "declared": committed,
        "rolled_back": writers * each - committed,
        "seconds": round(elapsed, 3),
        "declarations_per_second": round(committed / elapsed, 1),
        "latency_ms": {
            "p50": round(statistics.median(ordered) * 1000, 1),
            "p90": round(ordered[int(len(ordered) * 0.9)] * 1000, 1),
            "max": round(ordered[-1] * 1000, 1),
        },
        "keys": "1..N, unique, no gap",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--each", type=int, default=50)
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    args = parser.parse_args()
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    results = {}
    for backend in backends:
        with fresh_database(backend, "declare") as db:
            seed(db)
            log(f"{backend}: {args.writers} writers x {args.each} declarations")
            results[backend] = run(db, args.writers, args.each)
            log(f"{backend}: {results[backend]}")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
