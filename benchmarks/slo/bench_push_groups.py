"""CPU of the group commit's writer per push: opsloop.slo.ingestion.store_pushes alone.

    .venv/bin/python benchmarks/slo/bench_push_groups.py --backend sqlite
    .venv/bin/python benchmarks/slo/bench_push_groups.py --backend postgresql

A fresh database gets 1,000 pushed SLOs (10 per service). Each case builds its groups first,
then stores every group in its own ``Database.write(audited=False)`` transaction, as the writer
thread does, and reports this process's CPU time per push and per event, and the wall time
per push (the writer's own limit: it runs one group at a time); each the minimum of
``--repeats`` runs, each on minutes not pushed before. On PostgreSQL it also reports the CPU
of the server's backends for the benchmark's database (read from ``/proc``, so only for a
server on this machine; in clock ticks, usually 10 ms: each case runs long enough for that).

* ``push x1`` / ``push x20``: one-minute pushes to one SLO each (``POST /api/v1/slos/{id}/events``),
  in groups of 1 and of 20 (a busy server's groups), minutes 20 days old (so each SLO's window
  is looked at);
* ``bulk 100x1`` / ``bulk 100x10``: bulk pushes (``POST /api/v1/events``) naming 100 SLOs as
  ``service/name``, 1 and 10 minutes each, two per group;
* ``bulk ids 100x1``: the same naming the SLOs by id, as ``benchmarks/perf`` does.

This is the cost the writer adds to each request; the request's own cost (HTTP, parsing, auth)
is measured with the server by ``benchmarks/perf``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from common import BACKENDS, CpuMeter, fresh_database, log
from sqlalchemy import text

from opsloop.core.auth.roles import SYSTEM, Principal, Role
from opsloop.core.db import Database
from opsloop.slo import service
from opsloop.slo.ingestion import BulkPush, OnePush, Push, store_pushes

SLOS = 1000
PUSHER = Principal(actor="bench", role=Role.responder)
Groups = list[list[Push]]


class Plans:
    """Groups of pushes, each call on minutes later than the calls before it."""

    def __init__(self, ids: list[int], names: list[str]) -> None:
        self.ids, self.names = ids, names
        self.id_refs = [str(i) for i in ids]
        self.base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=20)
        self.next_minute = 0

    def _minutes(self, count: int) -> int:
        first, self.next_minute = self.next_minute, self.next_minute + count
        return first

    def single(self, groups: int, size: int) -> Groups:
        pushes = groups * size
        first = self._minutes(pushes // len(self.ids) + 1)
        out: Groups = []
        for g in range(groups):
            group: list[Push] = []
            for k in range(g * size, (g + 1) * size):
                at = self.base + timedelta(minutes=first + k // len(self.ids))
                slo_id = self.ids[k % len(self.ids)]
                group.append(OnePush(slo_id, [(at, 999, 1000)], PUSHER, f"r{k}"))
            out.append(group)
        return out

    def bulk(self, groups: int, span: int, *, by_id: bool = False) -> Groups:
        refs = self.id_refs if by_id else self.names
        sets = len(refs) // 100
        first = self._minutes((2 * groups // sets + 1) * span)
        out: Groups = []
        for g in range(groups):
            group: list[Push] = []
            for k in range(2 * g, 2 * g + 2):
                minute = first + (k // sets) * span
                chosen = refs[(k % sets) * 100 : (k % sets + 1) * 100]
                items = [
                    (name, (self.base + timedelta(minutes=minute + m), 999, 1000))
                    for m in range(span)
                    for name in chosen
                ]
                group.append(BulkPush(items, PUSHER, f"b{k}"))
            out.append(group)
        return out


def per_push(db: Database, make: Callable[[], Groups], repeats: int) -> tuple[float, float, float]:
    """This process's CPU, the database's CPU and wall seconds per push, each the minimum
    over the repeats."""
    cpu = wall = backend = float("inf")
    meter = CpuMeter.of(db)
    for _ in range(repeats):
        groups = make()
        # The pool's connection is open (and counted) before the clock starts.
        with db.write(audited=False) as session:
            session.execute(text("SELECT 1"))
        meter.start()
        for group in groups:
            with db.write(audited=False) as session:
                outcomes = store_pushes(session, group)
            failed = [o for o in outcomes if isinstance(o, Exception)]
            if failed:
                raise RuntimeError(f"a push failed: {failed[0]}")
        used = meter.stop()
        pushes = sum(len(g) for g in groups)
        cpu = min(cpu, used["own_cpu_s"] / pushes)
        wall = min(wall, used["wall_s"] / pushes)
        backend = min(backend, used["postgresql_cpu_s"] / pushes)
    meter.close()
    return cpu, backend, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with fresh_database(args.backend, "pushgroups") as db:
        with db.write() as session:
            for n in range(SLOS):
                defn = service.pushed_definition(
                    service=f"svc-{n // 10:03d}", name=f"slo-{n % 10}", objective=99.9
                )
                service.apply_definition(session, principal=SYSTEM, defn=defn)
        with db.read() as session:
            rows = session.execute(text("SELECT id, service, name FROM slos ORDER BY id")).all()
        plans = Plans([r[0] for r in rows], [f"{r[1]}/{r[2]}" for r in rows])
        cases: list[tuple[str, int, Callable[[], Groups]]] = [
            ("push x1", 1, lambda: plans.single(1000, 1)),
            ("push x20", 1, lambda: plans.single(200, 20)),
            ("bulk 100x1", 100, lambda: plans.bulk(100, 1)),
            ("bulk ids 100x1", 100, lambda: plans.bulk(100, 1, by_id=True)),
            ("bulk 100x10", 1000, lambda: plans.bulk(20, 10)),
        ]
        for name, events, make in cases:
            cpu, backend, wall = per_push(db, make, args.repeats)
            database = (
                f"; database {backend * 1e3:.3f} ms ({backend * 1e6 / events:.1f} us per event)"
                if args.backend == "postgresql"
                else ""
            )
            log(
                f"{args.backend} {name}: {cpu * 1e3:.3f} ms CPU per push, "
                f"{cpu * 1e6 / events:.1f} us per event{database}; "
                f"wall {wall * 1e3:.3f} ms per push"
            )


if __name__ == "__main__":
    main()
