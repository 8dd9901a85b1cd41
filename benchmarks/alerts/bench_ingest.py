"""Alertmanager webhook ingest throughput against a running ``opsloop serve --workers 2``.

Clients post payloads shaped like Alertmanager's (``--alerts`` alerts per payload, version 4)
to ``POST /api/v1/alerts/alertmanager`` over keep-alive connections for ``--seconds``. A
payload carries new firing instances, repeats of instances already sent (as Alertmanager's
repeat notifications and retries do) and resolved notices of earlier ones, in the shares set
by ``--repeat`` and ``--resolve``. At the end the database must hold exactly one row per
distinct instance sent, resolved where a resolved notice was sent.

Run with the checkout's Python (it reads the database afterwards to check the counts):

    .venv/bin/python benchmarks/alerts/bench_ingest.py --backend sqlite
    .venv/bin/python benchmarks/alerts/bench_ingest.py --backend postgresql
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import serving
from sqlalchemy import func, select

from opsloop.alerts.models import Alert, AlertStatus
from opsloop.core.db import Database

PATH = "/api/v1/alerts/alertmanager"


class Client(threading.Thread):
    """One Alertmanager-like sender: its own instances, its own connection."""

    def __init__(self, index: int, port: int, token: str, args: argparse.Namespace) -> None:
        super().__init__(daemon=True)
        self.index, self.port, self.token, self.args = index, port, token, args
        self.random = random.Random(index)
        self.sent: list[float] = []
        self.errors = 0
        self.alerts = 0
        self.firing: list[tuple[str, str]] = []  # instances sent firing, not yet resolved
        self.instances: set[tuple[str, str]] = set()
        self.resolved: set[tuple[str, str]] = set()
        self.stop_at = 0.0
        self.measure_from = 0.0  # requests due before this are warm-up, not measured

    def payload(self, serial: int) -> bytes:
        base = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(seconds=serial)
        alerts = []
        for n in range(self.args.alerts):
            roll = self.random.random()
            if roll < self.args.resolve and self.firing:
                fingerprint, starts = self.firing.pop(self.random.randrange(len(self.firing)))
                self.resolved.add((fingerprint, starts))
                alerts.append(_alert(fingerprint, starts, resolved=True))
            elif roll < self.args.resolve + self.args.repeat and self.firing:
                fingerprint, starts = self.random.choice(self.firing)
                alerts.append(_alert(fingerprint, starts, resolved=False))
            else:
                fingerprint = f"{self.index:02x}{serial:08x}{n:04x}"
                starts = base.isoformat().replace("+00:00", "Z")
                self.firing.append((fingerprint, starts))
                self.instances.add((fingerprint, starts))
                alerts.append(_alert(fingerprint, starts, resolved=False))
        status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
        body = {
            "version": "4",
            "receiver": "opsloop",
            "status": status,
            "groupKey": f'{{}}:{{client="{self.index}"}}',
            "truncatedAlerts": 0,
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example",
            "alerts": alerts,
        }
        return json.dumps(body).encode()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        serial = 0
        # Open loop (--rate): each sender keeps its own schedule, and a request's latency counts
        # from when it was due, so a slow answer that delays the next send is not hidden.
        interval = self.args.clients * self.args.alerts / self.args.rate if self.args.rate else 0
        due = self.measure_from - self.args.warmup + interval * self.index / self.args.clients
        while time.perf_counter() < self.stop_at:
            body = self.payload(serial)
            serial += 1
            if interval:
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                started, due = due, due + interval
            else:
                started = time.perf_counter()
            try:
                conn.request("POST", PATH, body, headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                ok = False
            if started < self.measure_from:
                continue
            self.sent.append(time.perf_counter() - started)
            if ok:
                self.alerts += self.args.alerts
            else:
                self.errors += 1
        conn.close()


def _alert(fingerprint: str, starts: str, *, resolved: bool) -> dict[str, Any]:
    service = f"svc-{int(fingerprint[-4:], 16) % 20:02d}"
    return {
        "status": "resolved" if resolved else "firing",
        "labels": {
            "alertname": f"Alert{int(fingerprint[-2:], 16) % 10}",
            "service": service,
            "severity": ("critical", "high", "medium", "low")[int(fingerprint[-1], 16) % 4],
            "instance": f"host-{fingerprint[-3:]}:9100",
        },
        "annotations": {"summary": "synthetic", "runbook_url": "https://runbooks.example/x"},
        "startsAt": starts,
        "endsAt": "2026-12-06T00:00:00Z" if resolved else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with serving.served(args.backend, "opsloop_alerts_bench") as server:
        clients = [Client(i, server.port, server.token, args) for i in range(args.clients)]
        started = time.perf_counter()
        for client in clients:
            client.measure_from = started + args.warmup
            client.stop_at = started + args.warmup + args.seconds
            client.start()
        for client in clients:
            client.join()
        wall = time.perf_counter() - started - args.warmup
        db = Database(server.url)
        with db.read() as session:
            rows = session.scalar(select(func.count()).select_from(Alert)) or 0
            ended = session.scalar(
                select(func.count()).select_from(Alert).where(Alert.status == AlertStatus.resolved)
            )
        db.dispose()
    latencies = sorted(s for c in clients for s in c.sent)
    accepted = sum(c.alerts for c in clients)
    instances = set().union(*(c.instances for c in clients))
    resolved = set().union(*(c.resolved for c in clients))
    return {
        "backend": args.backend,
        "clients": args.clients,
        "alerts_per_payload": args.alerts,
        "offered_alerts_per_second": args.rate or None,
        "warmup_seconds": args.warmup,
        "seconds": round(wall, 1),
        "requests": len(latencies),
        "errors": sum(c.errors for c in clients),
        "alerts_per_second": round(accepted / wall),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "instances_sent": len(instances),
        "instances_stored": rows,
        "resolved_sent": len(resolved),
        "resolved_stored": ended,
        "exact": rows == len(instances) and ended == len(resolved),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--alerts", type=int, default=100, help="alerts per payload")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=float, default=0.2, help="share of repeated alerts")
    parser.add_argument("--resolve", type=float, default=0.1, help="share of resolved notices")
    parser.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        help="seconds sent first and left out of the figures (a new worker's first requests "
        "compile and cache what later ones reuse)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="offered alerts/s in all (open loop, latency from each request's due time); "
        "0 sends as fast as answers come back",
    )
    print(json.dumps(measure(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
