"""Mixed write load against a real `opsloop serve`: pushes racing each other, the scheduler's
evaluation and audited creations, then a check that every acknowledged write is stored.

The shape of the load is the one that deadlocked PostgreSQL before one lock order: 85 % pushes
of fresh minutes to 4 SLOs shared by 8 clients each (half of them bulk pushes naming two SLOs),
10 % token creations (audited), 5 % SLO creations (audited, each one changes what the next
evaluation records), with the evaluation running every 5 s.

    .venv/bin/python benchmarks/reliability/mixed_load.py --backend postgresql --seconds 30
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

PG_ADMIN = os.environ.get("OPSLOOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
OPSLOOP = str(Path(sys.executable).parent / "opsloop")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(backend: str, data_dir: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{data_dir}/opsloop.db", None
    name = f"opsloop_load_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="opsloop-load-"))
    url, pg_name = database_url(args.backend, data_dir)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPSLOOP_")},
        "OPSLOOP_DATABASE_URL": url,
        "OPSLOOP_DATA_DIR": str(data_dir),
        "OPSLOOP_PORT": str(port),
        "OPSLOOP_SLO_EVALUATION_INTERVAL_SECONDS": "5",
        "OPSLOOP_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [OPSLOOP, "serve", "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir / "server.log", "w"),  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit(f"server did not become ready; see {data_dir}/server.log")
        admin = subprocess.run(
            [OPSLOOP, "token", "create", "--user", "admin", "--role", "admin"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(run_load(base, url, admin, args.seconds, args.clients))
    finally:
        server.terminate()
        server.wait(30)
        if pg_name:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def run_load(base: str, url: str, admin: str, seconds: int, clients: int) -> str:
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=base, headers=auth, timeout=30) as setup:
        slo_ids = []
        for i in range(4):
            body = {"service": "load", "name": f"s{i}", "objective": 99.9}
            slo_ids.append(setup.post("/api/v1/slos", json=body).raise_for_status().json()["id"])
    statuses: collections.Counter[int | str] = collections.Counter()
    latencies: list[float] = []
    acked: dict[tuple[int, str], tuple[int, int]] = {}
    lock = threading.Lock()
    # Each client pushes its own run of minutes (1,200 apart), all inside the 30-day window.
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=29)
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        rnd = random.Random(number)
        mine = slo_ids[number % 4]
        other = slo_ids[(number + 1) % 4]
        minute = start + timedelta(minutes=number * 1200)
        with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
            while time.monotonic() < deadline:
                pick = rnd.random()
                minute += timedelta(minutes=1)
                stamp = minute.isoformat().replace("+00:00", "Z")
                t0 = time.perf_counter()
                try:
                    if pick < 0.425:
                        event = {"timestamp": stamp, "good": 99, "total": 100}
                        path = f"/api/v1/slos/{mine}/events"
                        response = http.post(path, json={"events": [event]})
                        writes = [(mine, stamp)]
                    elif pick < 0.85:
                        events = [
                            {"slo": str(mine), "timestamp": stamp, "good": 98, "total": 100},
                            {"slo": str(other), "timestamp": stamp, "good": 98, "total": 100},
                        ]
                        response = http.post("/api/v1/events", json={"events": events})
                        writes = [(mine, stamp), (other, stamp)]
                    elif pick < 0.95:
                        body = {"role": "viewer", "name": f"load-{number}"}
                        response = http.post("/api/v1/tokens", json=body)
                        writes = []
                    else:
                        body = {"service": "load", "name": f"c{number}-{rnd.randrange(10**9)}",
                                "objective": 99.5}  # fmt: skip
                        response = http.post("/api/v1/slos", json=body)
                        writes = []
                except httpx.TransportError:  # the server dropped the connection
                    with lock:
                        statuses["connection reset"] += 1
                    continue
                elapsed = time.perf_counter() - t0
                with lock:
                    statuses[response.status_code] += 1
                    latencies.append(elapsed)
                    if response.status_code == 200:
                        good = 99 if len(writes) == 1 else 98
                        for key in writes:
                            acked[key] = (good, 100)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lost = check_acked(url, acked)
    latencies.sort()
    total = sum(statuses.values())
    return (
        f"{total} requests in {seconds} s ({total / seconds:.0f}/s), statuses {dict(statuses)}, "
        f"p50 {latencies[total // 2] * 1000:.0f} ms, p99 {latencies[int(total * 0.99)] * 1000:.0f}"
        f" ms; acknowledged minutes {len(acked)}, missing or different {lost}"
    )


def check_acked(url: str, acked: dict[tuple[int, str], tuple[int, int]]) -> int:
    """Acknowledged minutes whose stored counts are missing or differ, read from the database."""
    query = "SELECT slo_id, minute, good, total FROM slo_event_buckets"
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            rows = conn.execute(query).fetchall()
    else:
        with psycopg.connect(url) as conn:
            rows = conn.execute(query).fetchall()
    stored = {}
    for slo_id, minute, good, total in rows:
        at = minute if isinstance(minute, datetime) else datetime.fromisoformat(minute)
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        stored[(slo_id, at.isoformat().replace("+00:00", "Z"))] = (good, total)
    return sum(1 for key, counts in acked.items() if stored.get(key) != counts)


if __name__ == "__main__":
    main()
