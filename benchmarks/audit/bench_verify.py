"""Audit chain verification: a full pass against the incremental one that starts at the checkpoint.

Usage: python -m benchmarks.audit.bench_verify [--records 100000] [--new 100] [--backend sqlite]

A fresh, migrated database (temporary SQLite file or a new PostgreSQL database, dropped at the
end) gets ``--records`` chained audit records, bulk-inserted (setup, not measured). Measured,
each the median of 3 runs of ``verification.chain_status``: the full verification, the
incremental one with nothing new since the checkpoint, and the incremental one with ``--new``
records appended since (re-appended before each run: the checkpoint is rewound in SQL).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from benchmarks.slo.common import fresh_database, log
from sqlalchemy import insert, text

from opsloop.core.audit import verification
from opsloop.core.audit.chain import GENESIS, Link, canonical_json
from opsloop.core.audit.models import AuditRecord
from opsloop.core.db import Database

START = datetime(2026, 11, 1, tzinfo=UTC)


def chain(first_seq: int, count: int, prev_hash: str) -> list[Link]:
    links = []
    for seq in range(first_seq, first_seq + count):
        link = Link(
            seq=seq,
            at=START + timedelta(seconds=seq),
            actor=f"user{seq % 7}",
            action="slo.update",
            entity_type="slo",
            entity_id=str(seq % 500),
            changes=canonical_json({"objective": {"before": 99.5, "after": 99.9}}),
            request_id=f"{seq:032x}",
            prev_hash=prev_hash,
        ).sealed()
        links.append(link)
        prev_hash = link.hash
    return links


def load(db: Database, links: list[Link]) -> None:
    rows = [{name: getattr(link, name) for name in link.__dataclass_fields__} for link in links]
    with db.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(AuditRecord), rows[start : start + 5000])


def median_seconds(
    action: Callable[[], verification.Verification], runs: int = 3
) -> tuple[dict[str, float], verification.Verification]:
    """Median wall and CPU seconds of this process (the machine is shared, so wall time alone
    says little)."""
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = action()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    assert result.ok, result
    return {
        "wall": round(statistics.median(wall), 4),
        "cpu": round(statistics.median(cpu), 4),
    }, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()

    with fresh_database(args.backend, "audit") as db:
        log(f"building {args.records} + {args.new} records on {args.backend}")
        base = chain(1, args.records, GENESIS)
        load(db, base)
        load(db, chain(args.records + 1, args.new, base[-1].hash))
        rewind = text("UPDATE audit_checkpoints SET seq = :seq, hash = :hash")
        total = args.records + args.new

        full, result = median_seconds(lambda: verification.chain_status(db, full=True))
        assert result.walked == total
        nothing_new, result = median_seconds(lambda: verification.chain_status(db))
        assert result.walked == 0 and result.checked == total

        def incremental() -> verification.Verification:
            with db.engine.begin() as conn:
                conn.execute(rewind, {"seq": args.records, "hash": base[-1].hash})
            return verification.chain_status(db)

        with_new, result = median_seconds(incremental)
        assert result.walked == args.new and result.checked == total

    print(
        json.dumps(
            {
                "backend": args.backend,
                "records": total,
                "full_seconds": full,
                "incremental_nothing_new_seconds": nothing_new,
                f"incremental_{args.new}_new_seconds": with_new,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
