"""An alert storm through ``opsloop serve --workers 2`` with routing rules in place.

Senders post Alertmanager-shaped webhooks (one service's alerts per payload, as a group by
``service`` sends them) until ``--instances`` distinct alert instances were sent. Payloads
repeat alerts already sent (``--repeat``, Alertmanager's repeat notifications), resolve earlier
ones (``--resolve``) and are posted twice (``--retry``, a retried delivery). Three rules route
them: critical and high alerts declare a SEV2 per service, medium ones attach to the service's
open incident, low ones match nothing. The router is the server's own scheduler job.

At the end: exactly one row per instance sent, exactly the resolved ones resolved, nothing
left unrouted, one incident per service (the routed cause), and no critical or high alert
still firing outside its service's incident. Reported: posting throughput and the time from
the last post until routing had caught up.

    .venv/bin/python benchmarks/alerts/bench_storm.py --backend sqlite
    .venv/bin/python benchmarks/alerts/bench_storm.py --backend postgresql
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import serving
from sqlalchemy import func, select

from opsloop.alerts.models import Alert, AlertStatus
from opsloop.core.db import Database
from opsloop.incidents.models import Incident

PATH = "/api/v1/alerts/alertmanager"
RULES = [
    {"matchers": 'severity=~"critical|high"', "action": "declare", "severity": "SEV2"},
    {"matchers": 'severity="medium"', "action": "attach"},
]
SEVERITIES = ("critical", "high", "medium", "low")


@dataclass
class Storm:
    """The payloads of one run, made on demand and remembered for the final check."""

    instances: int
    services: int = 20
    per_payload: int = 100
    repeat: float = 0.2
    resolve: float = 0.1
    retry: float = 0.05
    seed: int = 1
    base: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(days=1))
    sent: set[tuple[str, str]] = field(default_factory=set)
    resolved: set[tuple[str, str]] = field(default_factory=set)
    severity_of: dict[str, str] = field(default_factory=dict)
    service_of: dict[str, str] = field(default_factory=dict)
    payloads: int = 0

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self.firing: dict[str, list[tuple[str, str]]] = {}
        self.lock = threading.Lock()
        self.queue = self._bodies()

    def _alert(self, fingerprint: str, starts: str, resolved: bool) -> dict[str, Any]:
        return {
            "status": "resolved" if resolved else "firing",
            "labels": {
                "alertname": "HighErrorRate",
                "service": self.service_of[fingerprint],
                "severity": self.severity_of[fingerprint],
                "instance": f"host-{fingerprint}",
            },
            "annotations": {"summary": "errors above 5%"},
            "startsAt": starts,
            "endsAt": (self.base + timedelta(days=1)).isoformat().replace("+00:00", "Z")
            if resolved
            else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example/graph?g0.expr=up",
            "fingerprint": fingerprint,
        }

    def _payload(self) -> bytes:
        service = f"svc-{self.payloads % self.services:02d}"
        firing = self.firing.setdefault(service, [])
        starts = (self.base + timedelta(seconds=self.payloads)).isoformat().replace("+00:00", "Z")
        alerts = []
        for _ in range(self.per_payload):
            roll = self.random.random()
            if roll < self.resolve and firing:
                fingerprint, began = firing.pop(self.random.randrange(len(firing)))
                self.resolved.add((fingerprint, began))
                alerts.append(self._alert(fingerprint, began, True))
            elif roll < self.resolve + self.repeat and firing:
                fingerprint, began = self.random.choice(firing)
                alerts.append(self._alert(fingerprint, began, False))
            elif len(self.sent) < self.instances:
                fingerprint = f"{len(self.sent):010x}"
                self.service_of[fingerprint] = service
                self.severity_of[fingerprint] = SEVERITIES[len(self.sent) % 4]
                firing.append((fingerprint, starts))
                self.sent.add((fingerprint, starts))
                alerts.append(self._alert(fingerprint, starts, False))
        self.payloads += 1
        body = {
            "version": "4",
            "receiver": "opsloop",
            "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
            "groupKey": f'{{}}:{{service="{service}"}}',
            "truncatedAlerts": 0,
            "groupLabels": {"service": service},
            "commonLabels": {"service": service},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example",
            "alerts": alerts,
        }
        return json.dumps(body).encode()

    def _bodies(self) -> Iterator[bytes]:
        while len(self.sent) < self.instances:
            body = self._payload()
            yield body
            if self.random.random() < self.retry:
                yield body  # the same delivery again, as after a lost answer

    def next_body(self) -> bytes | None:
        with self.lock:
            return next(self.queue, None)

    @property
    def routed_causes(self) -> set[str]:
        return {
            self.service_of[f] for f, _ in self.sent if self.severity_of[f] in ("critical", "high")
        }


def check(db: Database, storm: Storm) -> dict[str, Any]:
    """What the database holds against what the storm sent."""
    with db.read() as session:

        def count(*where: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(Alert).where(*where)) or 0)

        incidents = list(session.execute(select(Incident.id, Incident.origin)))
        by_service = {origin.split(":")[2]: i for i, origin in incidents}
        paging = Alert.severity.in_(["critical", "high"])
        stray = count(paging, Alert.status == AlertStatus.firing, Alert.incident_id.is_(None))
        wrong = sum(
            count(paging, Alert.service == service, Alert.incident_id != incident_id)
            for service, incident_id in by_service.items()
        )
        found = {
            "instances_sent": len(storm.sent),
            "instances_stored": count(),
            "resolved_sent": len(storm.resolved),
            "resolved_stored": count(Alert.status == AlertStatus.resolved),
            "unrouted": count(Alert.routed_at.is_(None)),
            "linked": count(Alert.incident_id.is_not(None)),
            "causes": len(storm.routed_causes),
            "incidents": len(incidents),
            "paging_alerts_outside_their_incident": stray + wrong,
        }
    found["exact"] = (
        found["instances_sent"] == found["instances_stored"]
        and found["resolved_sent"] == found["resolved_stored"]
        and found["unrouted"] == 0
        and found["incidents"] == found["causes"] == len(by_service)
        and set(by_service) == storm.routed_causes
        and found["paging_alerts_outside_their_incident"] == 0
    )
    return found


def send(storm: Storm, post: Callable[[bytes], int], clients: int) -> dict[str, Any]:
    """Post every payload of the storm from ``clients`` threads; throughput and errors."""
    errors: list[int] = []
    posted = [0] * clients

    def run(index: int) -> None:
        while (body := storm.next_body()) is not None:
            status = post(body)
            if status != 200:
                errors.append(status)
            posted[index] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    alerts = sum(posted) * storm.per_payload
    return {
        "post_seconds": round(wall, 1),
        "requests": sum(posted),
        "errors": len(errors),
        "alerts_posted_per_second": round(alerts / wall),
    }


def wait_routed(db: Database, timeout: float) -> float:
    """Seconds until no alert waits for routing (or ``timeout``)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with db.read() as session:
            waiting = session.scalar(
                select(func.count()).select_from(Alert).where(Alert.routed_at.is_(None))
            )
        if not waiting:
            break
        time.sleep(0.25)
    return round(time.perf_counter() - started, 1)


def _poster(port: int, token: str) -> Callable[[bytes], int]:
    local = threading.local()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(body: bytes) -> int:
        for _ in range(5):
            if getattr(local, "conn", None) is None:
                local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                local.conn.request("POST", PATH, body, headers)
                response = local.conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                local.conn.close()
                local.conn = None
                continue
            if response.status != 503:
                return int(response.status)
            time.sleep(float(response.getheader("Retry-After") or 1))
        return 599

    return post


def _api(port: int, token: str, path: str, body: dict[str, Any]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request("POST", path, json.dumps(body), headers)
    response = conn.getresponse()
    if response.status != 201:
        raise RuntimeError(f"{path}: {response.status} {response.read()!r}")
    conn.close()


def measure(args: argparse.Namespace) -> dict[str, Any]:
    storm = Storm(args.instances, args.services, args.alerts, args.repeat, args.resolve, args.retry)
    with serving.served(args.backend, "opsloop_storm_bench") as server:
        for rule in RULES:
            _api(server.port, server.token, "/api/v1/alerts/routes", rule)
        db = Database(server.url)
        sent = send(storm, _poster(server.port, server.token), args.clients)
        caught_up = wait_routed(db, args.timeout)
        result = {"backend": args.backend, **sent, "routing_caught_up_after_s": caught_up}
        result.update(check(db, storm))
        db.dispose()
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--alerts", type=int, default=100, help="alerts per payload")
    parser.add_argument("--repeat", type=float, default=0.2, help="share of repeated alerts")
    parser.add_argument("--resolve", type=float, default=0.1, help="share of resolved notices")
    parser.add_argument("--retry", type=float, default=0.05, help="share of payloads posted twice")
    parser.add_argument("--timeout", type=float, default=600.0, help="to wait for routing")
    print(json.dumps(measure(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
