"""Data of the domains after SLOs, made through opsloop's own interfaces, and only the steps a
selected case needs (``Case.needs``):

* ``alerts``: 2,000 alert instances, 100 per Alertmanager webhook payload
  (``POST /api/v1/alerts/alertmanager``), a fifth of them resolved;
* ``incidents``: 10,000 past incidents over the last year, one CSV file imported with
  ``opsloop incident import`` (one transaction); each names one or two of the SLOs' services;
* ``changes``: 300 change requests (``POST /api/v1/changes``), a third of them submitted;
* ``action_items``: 200 action items on the newest 100 incidents
  (``POST /api/v1/pirs/{key}/action-items``).
"""

from __future__ import annotations

import csv
import io
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from procs import log
from seed import Checkout, Client

STEPS = ("alerts", "incidents", "changes", "action_items")  # the order they are made in
DAY = 86_400
#: Severities opsloop's alerting standard gives an hour or more (others fall back to medium),
#: so the scheduler escalates none of the seeded or posted alerts during a run.
ALERT_SEVERITIES = ("medium", "low", "warning", "info")
CATEGORIES = ("infrastructure", "application", "database", "configuration", "security")
RISKS = ("low", "medium", "high")
SEVERITY_SHARES = (("SEV1", 5), ("SEV2", 15), ("SEV3", 40), ("SEV4", 40))
OPEN_INCIDENTS = 20  # the newest ones are still investigating
ALERTS_PER_PAYLOAD = 100


@dataclass(frozen=True)
class Sizes:
    incidents: int = 10_000
    changes: int = 300
    action_items: int = 200
    alerts: int = 2_000


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def service(number: int, services: int) -> str:
    return f"svc-{number % services:03d}"


def incidents_csv(count: int, now: int, services: int) -> str:
    """``count`` incidents started between a year and a day before ``now`` (epoch s), oldest
    first: closed or resolved with every time filled in, the newest few still investigating."""
    rng = random.Random(7)
    severities = [name for name, share in SEVERITY_SHARES for _ in range(share)]
    methods = ("alert", "monitoring", "user_report", "other")
    first, last = now - 365 * DAY, now - DAY
    step = (last - first) / max(1, count)
    out = io.StringIO()
    columns = ["title", "severity", "status", "services", "started_at", "detected_at"]
    columns += ["acknowledged_at", "mitigated_at", "resolved_at", "closed_at"]
    columns += ["detection_method", "summary", "commander"]
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for j in range(count):
        started = int(first + j * step + rng.uniform(0, step / 2))
        names = [service(j * 37, services)]
        if j % 4 == 0 and services > 1:
            names.append(service(j * 37 + 1, services))
        detected = started + 60 * rng.randint(1, 15)
        acknowledged = detected + 60 * rng.randint(1, 10)
        row = {
            "title": f"Synthetic incident {j:05d}: {names[0]} degraded",
            "severity": rng.choice(severities),
            "services": ";".join(names),
            "started_at": iso(started),
            "detected_at": iso(detected),
            "acknowledged_at": iso(acknowledged),
            "detection_method": methods[j % len(methods)],
            "summary": f"Synthetic incident {j} for the performance harness.",
            "commander": "admin" if j % 3 == 0 else "",
        }
        if j >= count - OPEN_INCIDENTS:
            row["status"] = "investigating"
        else:
            mitigated = acknowledged + 60 * rng.randint(5, 90)
            resolved = mitigated + 60 * rng.randint(5, 240)
            closed = resolved + DAY // 2
            row.update(mitigated_at=iso(mitigated), resolved_at=iso(resolved))
            if j % 3 and closed < now:
                row.update(status="closed", closed_at=iso(closed))
            else:
                row["status"] = "resolved"
        writer.writerow(row)
    return out.getvalue()


def import_incidents(
    checkout: Checkout, env: Mapping[str, str], work: Path, count: int, now: int, services: int
) -> dict[str, Any]:
    started = time.perf_counter()
    path = work / "incidents.csv"
    path.write_text(incidents_csv(count, now, services))
    checkout.cli(env, "incident", "import", str(path))
    return {"incidents": count, "incidents_s": round(time.perf_counter() - started, 2)}


def alert_payload(serial: int, size: int, now: int, services: int) -> dict[str, Any]:
    """One Alertmanager webhook (version 4) of ``size`` instances, every fifth resolved."""
    alerts = []
    for k in range(size):
        n = serial * size + k
        resolved = n % 5 == 4
        alerts.append(
            {
                "status": "resolved" if resolved else "firing",
                "labels": {
                    "alertname": f"Seeded{n % 12}",
                    "service": service(n * 7, services),
                    "severity": ALERT_SEVERITIES[n % len(ALERT_SEVERITIES)],
                    "instance": f"host-{n % 97}:9100",
                },
                "annotations": {"summary": "seeded alert"},
                "startsAt": iso(now - 60),
                "endsAt": iso(now) if resolved else "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example/graph",
                "fingerprint": f"seed{n:08x}",
            }
        )
    return {
        "version": "4",
        "receiver": "opsloop",
        "status": "firing",
        "groupKey": f"{{}}:{{seed={serial}}}",
        "alerts": alerts,
    }


def post_alerts(api: Client, count: int, now: int, services: int) -> dict[str, Any]:
    started = time.perf_counter()
    for serial in range(0, (count + ALERTS_PER_PAYLOAD - 1) // ALERTS_PER_PAYLOAD):
        size = min(ALERTS_PER_PAYLOAD, count - serial * ALERTS_PER_PAYLOAD)
        api.json("POST", "/api/v1/alerts/alertmanager", alert_payload(serial, size, now, services))
    return {"alerts": count, "alerts_s": round(time.perf_counter() - started, 2)}


def change_request(j: int, services: int) -> dict[str, Any]:
    return {
        "title": f"Synthetic change {j:04d}",
        "service": service(j * 13, services),
        "category": CATEGORIES[j % len(CATEGORIES)],
        "model": "normal",
        "risk": RISKS[j % len(RISKS)],
        "description": "Roll out the next release of the service.",
        "impact_analysis": "Requests may be retried during the rollout.",
        "rollback_plan": "Deploy the previous release again.",
        "submit": j % 3 == 0,
    }


def create_changes(api: Client, count: int, services: int) -> dict[str, Any]:
    started = time.perf_counter()
    for j in range(count):
        api.json("POST", "/api/v1/changes", change_request(j, services))
    return {"changes": count, "changes_s": round(time.perf_counter() - started, 2)}


def create_action_items(api: Client, count: int) -> dict[str, Any]:
    """Two items on each of the newest incidents (their dates due a month after each started)."""
    started = time.perf_counter()
    page = api.json("GET", f"/api/v1/incidents?limit={min(100, max(1, (count + 1) // 2))}")
    incidents = page["items"]
    if not incidents:
        raise RuntimeError("no incidents to add action items to")
    for j in range(count):
        incident = incidents[(j // 2) % len(incidents)]
        due = datetime.fromisoformat(incident["started_at"]).timestamp() + 30 * DAY
        body = {
            "description": f"Follow-up {j} of {incident['key']}",
            "owner_user": "admin",
            "priority": ("P1", "P2", "P3")[j % 3],
            "due_on": iso(due)[:10],
        }
        api.json("POST", f"/api/v1/pirs/{incident['key']}/action-items", body)
    return {"action_items": count, "action_items_s": round(time.perf_counter() - started, 2)}


def seed(
    steps: set[str],
    checkout: Checkout,
    env: Mapping[str, str],
    api: Client,
    work: Path,
    services: int,
    sizes: Sizes,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Make the data of ``steps``; what was made (with seconds), and the values case paths name:
    ``{since}`` and ``{until}``, a period that holds every seeded incident."""
    now = int(time.time())
    summary: dict[str, Any] = {}
    for step in (s for s in STEPS if s in steps):
        log(f"seeding {step}")
        if step == "alerts":
            summary.update(post_alerts(api, sizes.alerts, now, services))
        elif step == "incidents":
            summary.update(import_incidents(checkout, env, work, sizes.incidents, now, services))
        elif step == "changes":
            summary.update(create_changes(api, sizes.changes, services))
        elif step == "action_items":
            summary.update(create_action_items(api, sizes.action_items))
    midnight = now // DAY * DAY
    extra = {"since": iso(midnight - 366 * DAY), "until": iso(now // 60 * 60)}
    return summary, extra
