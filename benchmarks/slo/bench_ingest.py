"""Push ingestion rate of pushed SLO minute buckets, through the service layer and over HTTP.

    .venv/bin/python benchmarks/slo/bench_ingest.py --backend sqlite
    .venv/bin/python benchmarks/slo/bench_ingest.py --backend postgresql --mode http --clients 4

Service layer (``--mode service``): ``opsloop.slo.ingestion.push_events`` in its own
``Database.write()`` transaction per batch, as the API does, on a fresh database:

* ``append``: in-order batches of 60 and of 1000 minutes, each continuing where the last one of
  its SLO ended (the common case: a client pushing what it counted since its last push);
* ``late``: one 60-minute batch rewriting minutes 1 hour, 1 day, 7 days and 29 days older than
  the newest stored one, on an SLO holding 30 days: its minutes, hours and days change, however
  old they are;
* ``shuffled``: one-hour batches of a week pushed in random order onto an empty SLO.

HTTP (``--mode http``): a real ``opsloop serve`` (``--workers``) on a fresh database; pushed SLOs
created with ``POST /api/v1/slos``; ``--clients`` concurrent httpx clients, each pushing in-order
batches of 60 and of 1000 minutes to SLOs of its own with ``POST /api/v1/slos/{id}/events``.
Request bodies are built before the clock starts. The server uses the real clock, so timestamps
lie in the last 30 days and never in the future.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from common import (
    BACKENDS,
    CpuMeter,
    add_quiet_options,
    children,
    fresh_database,
    fresh_database_url,
    latency_summary,
    least_disturbed,
    load_average,
    log,
    machine,
    write_results,
)
from sqlalchemy import func, select

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.slo import ingestion
from opsloop.slo import service as slo_service
from opsloop.slo.models import SLO, EventBucket, EventDay, EventHour

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
PERIOD = timedelta(days=30)
DAY = timedelta(days=1)
#: Pushes start this long after the oldest minute the SLO window accepts.
MARGIN = timedelta(hours=1)
WARMUP_BATCHES = 3
ROOT = Path(__file__).resolve().parents[2]
OPSLOOP = Path(os.environ.get("OPSLOOP", ROOT / ".venv" / "bin" / "opsloop"))

Batch = list[tuple[datetime, int, int]]


def minutes(first: datetime, count: int, seed: int = 0) -> Batch:
    """``count`` consecutive minutes from ``first``: total 1000, good 990 to 1000."""
    rng = random.Random(seed)
    return [(first + i * MINUTE, 1000 - rng.randrange(11), 1000) for i in range(count)]


def capacity(start: datetime, end: datetime, size: int) -> int:
    """How many consecutive batches of ``size`` minutes fit in ``[start, end]``."""
    return int((end - start) / MINUTE + 1) // size


# ------------------------------------------------------------------------------------------
# Service layer


def create_slo(db: Database, name: str) -> int:
    defn = slo_service.pushed_definition(
        service="bench-ingest",
        name=name,
        objective=99.5,
        window="30d",
        time_zone="UTC",
        sli_kind="availability",
        description="benchmark SLO",
        owner="bench",
        labels={},
    )
    with db.write() as session:
        return slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id


def push(db: Database, slo_id: int, batch: Batch) -> float:
    started = time.perf_counter()
    with db.write(audited=False) as session:
        slo = session.get(SLO, slo_id)
        assert slo is not None
        ingestion.push_events(session, principal=SYSTEM, slo=slo, raw=batch)
    return time.perf_counter() - started


def stored(db: Database, slo_id: int) -> tuple[int, int, int, int]:
    """Rows and sum of good of the minutes, and sums of good of the hours and of the days, to
    check what was written."""
    with db.read() as session:
        rows, good = session.execute(
            select(func.count(), func.coalesce(func.sum(EventBucket.good), 0)).where(
                EventBucket.slo_id == slo_id
            )
        ).one()
        rolled = [
            session.scalar(
                select(func.coalesce(func.sum(model.good), 0)).where(model.slo_id == slo_id)
            )
            for model in (EventHour, EventDay)
        ]
    return int(rows), int(good), int(rolled[0] or 0), int(rolled[1] or 0)


def check_consistent(db: Database, slo_id: int, expect_rows: int) -> None:
    rows, good, by_hour, by_day = stored(db, slo_id)
    if rows != expect_rows or not good == by_hour == by_day:
        raise AssertionError(
            f"SLO {slo_id}: {rows} rows (expected {expect_rows}), sum(good) {good} "
            f"but the hours hold {by_hour} and the days {by_day}"
        )


def append_case(db: Database, size: int, batches: int, slo_count: int, meter: CpuMeter) -> dict:
    """In-order batches, round robin over ``slo_count`` new SLOs."""
    start = NOW - PERIOD + MARGIN
    per_slo = -(-(batches + WARMUP_BATCHES) // slo_count)
    if per_slo > capacity(start, NOW, size):
        raise SystemExit(f"{batches} batches of {size} do not fit {slo_count} SLOs' windows")
    ids = [create_slo(db, f"append-{size}-{uuid.uuid4().hex[:8]}") for _ in range(slo_count)]
    plan = [
        (ids[n % slo_count], minutes(start + (n // slo_count) * size * MINUTE, size, seed=n))
        for n in range(batches + WARMUP_BATCHES)
    ]
    for slo_id, batch in plan[:WARMUP_BATCHES]:
        push(db, slo_id, batch)
    latencies = []
    meter.start()
    for slo_id, batch in plan[WARMUP_BATCHES:]:
        latencies.append(push(db, slo_id, batch))
    cpu = meter.stop()
    for slo_id in ids:
        check_consistent(db, slo_id, sum(len(b) for s, b in plan if s == slo_id))
    return {
        "case": f"append-{size}",
        "batch_size": size,
        "batches": batches,
        "slos": slo_count,
        "buckets_per_s": round(batches * size / cpu["wall_s"]),
        "batches_per_s": round(batches / cpu["wall_s"], 1),
        **latency_summary(latencies),
        **cpu,
    }


def filled_slo(db: Database) -> tuple[int, datetime, int]:
    """A new SLO holding every minute of its 30-day window: id, newest minute, rows."""
    slo_id = create_slo(db, f"late-{uuid.uuid4().hex[:8]}")
    first = NOW - PERIOD + MARGIN
    filled = int((NOW - first) / MINUTE) + 1
    for offset in range(0, filled, 10_000):
        push(db, slo_id, minutes(first + offset * MINUTE, min(10_000, filled - offset), offset))
    return slo_id, first + (filled - 1) * MINUTE, filled


def late_case(
    db: Database, filled: tuple[int, datetime, int], age: timedelta, meter: CpuMeter
) -> dict:
    """60-minute batches rewriting minutes ``age`` older than the newest of a full SLO."""
    slo_id, newest, rows = filled
    repeats = 5
    latencies = []
    meter.start()
    for run in range(repeats):
        latencies.append(push(db, slo_id, minutes(newest - age, 60, seed=1000 + run)))
    cpu = meter.stop()
    check_consistent(db, slo_id, rows)
    return {
        "case": f"late-60-{_age(age)}",
        "batch_size": 60,
        "batches": repeats,
        "buckets_per_s": round(repeats * 60 / cpu["wall_s"]),
        "batches_per_s": round(repeats / cpu["wall_s"], 1),
        **latency_summary(latencies),
        **cpu,
    }


def shuffled_case(db: Database, hours: int, meter: CpuMeter) -> dict:
    """One-hour batches of ``hours`` hours in random order onto a new SLO."""
    slo_id = create_slo(db, f"shuffled-{uuid.uuid4().hex[:8]}")
    first = NOW - timedelta(hours=hours)
    order = list(range(hours))
    random.Random(7).shuffle(order)
    latencies = []
    meter.start()
    for hour in order:
        latencies.append(push(db, slo_id, minutes(first + hour * 60 * MINUTE, 60, seed=hour)))
    cpu = meter.stop()
    check_consistent(db, slo_id, hours * 60)
    return {
        "case": f"shuffled-60-{hours}h",
        "batch_size": 60,
        "batches": hours,
        "buckets_per_s": round(hours * 60 / cpu["wall_s"]),
        "batches_per_s": round(hours / cpu["wall_s"], 1),
        **latency_summary(latencies),
        **cpu,
    }


def _age(age: timedelta) -> str:
    return f"{age.days}d" if age.days else f"{age.seconds // 3600}h"


def run_service(args: argparse.Namespace) -> list[dict]:
    clock.set_clock(clock.FrozenClock(NOW))
    try:
        with fresh_database(args.backend, "bench_slo_ingest") as db:
            meter = CpuMeter.of(db)
            filled = filled_slo(db)
            cases = [
                partial(append_case, db, 60, args.batches_60, 5, meter),
                partial(append_case, db, 1000, args.batches_1000, 5, meter),
                *(
                    partial(late_case, db, filled, age, meter)
                    for age in (timedelta(hours=1), DAY, 7 * DAY, PERIOD - DAY)
                ),
                partial(shuffled_case, db, 24 * 7, meter),
            ]
            results = []
            for case in cases:
                results.append(least_disturbed(meter, args, case))
                log(f"service {results[-1]}")
            meter.close()
            return results
    finally:
        clock.set_clock(None)


# ------------------------------------------------------------------------------------------
# HTTP


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(backend: str, workers: int) -> Iterator[tuple[str, str, subprocess.Popen[bytes], str]]:
    """``opsloop serve`` on a fresh database: base URL, admin token, process, database name."""
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="opsloop-http-")))
        if backend == "postgresql":
            url = stack.enter_context(fresh_database_url(backend, "bench_slo_http"))
            database = url.rsplit("/", 1)[1]
        else:
            url, database = f"sqlite:///{data_dir / 'opsloop.db'}", ""
        env = {
            **os.environ,
            "OPSLOOP_DATA_DIR": str(data_dir),
            "OPSLOOP_DATABASE_URL": url,
            "OPSLOOP_ADMIN_PASSWORD": f"bench-{os.getpid()}-password",
            "OPSLOOP_LOG_LEVEL": "warning",
            "OPSLOOP_SCHEDULER_ENABLED": "false",
            "OPSLOOP_DEMO_DATA": "false",
        }
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_file = stack.enter_context(open(data_dir / "server.log", "wb"))
        command = [str(OPSLOOP), "serve", "--host", "127.0.0.1", "--port", str(port)]
        process = subprocess.Popen(
            [*command, "--workers", str(workers)], env=env, stdout=log_file, stderr=log_file
        )
        stack.callback(_stop, process)
        _wait_ready(base, process, data_dir / "server.log")
        token = subprocess.run(
            [str(OPSLOOP), "token", "create", "--user", "admin", "--role", "admin"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        yield base, token, process, database


def _wait_ready(base: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"opsloop serve exited: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"opsloop serve not ready after 60 s: {log_path}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def body(batch: Batch) -> bytes:
    events = [{"timestamp": t.isoformat(), "good": g, "total": n} for t, g, n in batch]
    return json.dumps({"events": events}).encode()


async def _client(base: str, token: str, plan: Sequence[tuple[int, bytes]]) -> list[float]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        for slo_id, content in plan:
            started = time.perf_counter()
            response = await client.post(f"/api/v1/slos/{slo_id}/events", content=content)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise AssertionError(f"push answered {response.status_code}: {response.text}")
    return latencies


async def _clients(base: str, token: str, plans: Sequence[Sequence[tuple[int, bytes]]]) -> Any:
    return await asyncio.gather(*(_client(base, token, plan) for plan in plans))


def http_plans(
    base: str, token: str, size: int, per_client: int, clients: int
) -> list[list[tuple[int, bytes]]]:
    """For each client, its batches (warm-up first) over new SLOs of its own, in minute order."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - PERIOD + MARGIN
    fits = capacity(start, now - timedelta(minutes=5), size)
    headers = {"Authorization": f"Bearer {token}"}
    plans = []
    for _ in range(clients):
        plan: list[tuple[int, bytes]] = []
        total = per_client + WARMUP_BATCHES
        for _ in range(-(-total // fits)):
            name = f"http-{size}-{uuid.uuid4().hex[:8]}"
            response = httpx.post(
                f"{base}/api/v1/slos",
                headers=headers,
                json={"service": "bench-http", "name": name, "objective": 99.5},
                timeout=30,
            )
            response.raise_for_status()
            slo_id = response.json()["id"]
            for n in range(min(fits, total - len(plan))):
                batch = minutes(start + n * size * MINUTE, size, seed=n)
                plan.append((slo_id, body(batch)))
        plans.append(plan)
    return plans


def http_case(
    base: str, token: str, meter: CpuMeter, size: int, per_client: int, clients: int
) -> dict:
    plans = http_plans(base, token, size, per_client, clients)
    asyncio.run(_clients(base, token, [p[:WARMUP_BATCHES] for p in plans]))
    meter.start()
    latencies = asyncio.run(_clients(base, token, [p[WARMUP_BATCHES:] for p in plans]))
    cpu = meter.stop()
    batches = per_client * clients
    return {
        "case": f"http-append-{size}",
        "batch_size": size,
        "batches": batches,
        "clients": clients,
        "buckets_per_s": round(batches * size / cpu["wall_s"]),
        "batches_per_s": round(batches / cpu["wall_s"], 1),
        **latency_summary([x for client in latencies for x in client]),
        **cpu,
    }


def run_http(args: argparse.Namespace) -> list[dict]:
    with server(args.backend, args.workers) as (base, token, process, database):
        meter = CpuMeter(database or None, pids=lambda: children(process.pid))
        results = []
        for size, per_client in ((60, args.http_batches_60), (1000, args.http_batches_1000)):
            case = partial(http_case, base, token, meter, size, per_client, args.clients)
            results.append(least_disturbed(meter, args, case))
            log(f"http {results[-1]}")
        meter.close()
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=BACKENDS, required=True)
    parser.add_argument("--mode", choices=("service", "http", "both"), default="both")
    parser.add_argument("--batches-60", type=int, default=1500, help="service layer")
    parser.add_argument("--batches-1000", type=int, default=200, help="service layer")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="opsloop serve --workers")
    parser.add_argument("--http-batches-60", type=int, default=200, help="per client")
    parser.add_argument("--http-batches-1000", type=int, default=25, help="per client")
    parser.add_argument("--out", type=Path, help="results JSON (default: stdout)")
    add_quiet_options(parser)
    args = parser.parse_args()
    doc: dict[str, Any] = {
        "benchmark": "slo-ingest",
        "backend": args.backend,
        "machine": machine(args.backend),
        "settings": {
            "clients": args.clients,
            "workers": args.workers,
            "warmup_batches": WARMUP_BATCHES,
        },
        "load_average": load_average(),
    }
    if args.mode in ("service", "both"):
        log(f"{args.backend}: service layer")
        doc["service"] = run_service(args)
    if args.mode in ("http", "both"):
        log(f"{args.backend}: HTTP, {args.clients} clients, {args.workers} worker(s)")
        doc["http"] = run_http(args)
    write_results(args.out, doc)


if __name__ == "__main__":
    main()
