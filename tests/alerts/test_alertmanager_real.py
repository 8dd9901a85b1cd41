"""A real Alertmanager delivering to a real ``opsloop serve``: alerts posted to Alertmanager's
API arrive firing, then resolved, with Alertmanager's fingerprints, one instance each."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsloop.alerts import service as alerts_service
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.alerts import alertmanager_server
from tests.alerts.payloads import table
from tests.helpers import bearer, free_port, make_token, make_user, running_server

pytestmark = [
    pytest.mark.skipif(
        alertmanager_server.missing() is not None, reason=str(alertmanager_server.missing())
    ),
    pytest.mark.slow,
]
WAIT = 60.0


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def test_alerts_from_alertmanager_fire_then_resolve_once(db: Database, tmp_path: Path) -> None:
    make_user(db, "alertmanager", Role.responder)
    token = make_token(db, "alertmanager", Role.responder)
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

    def alerts(ends: datetime | None) -> list[dict[str, Any]]:
        return [
            {
                "labels": {
                    "alertname": "HighLatency",
                    "instance": f"web-{n}",
                    "service": "storefront",
                    "severity": "high",
                },
                "annotations": {"summary": f"web-{n} is slow"},
                "startsAt": started.isoformat(),
                **({"endsAt": ends.isoformat()} if ends else {}),
                "generatorURL": "http://prometheus.example/graph",
            }
            for n in range(3)
        ]

    with running_server(tmp_path, OPSLOOP_DATABASE_URL=db.url) as (base, _):
        hook = f"{base}/api/v1/alerts/alertmanager"
        with alertmanager_server.running_alertmanager(tmp_path, hook, token) as am:
            alertmanager_server.post_alerts(am, alerts(None))
            expected = alertmanager_server.fingerprints(am)
            assert len(expected) == 3
            reader = bearer(token)

            def stored(status: str) -> dict[str, str]:
                answer = httpx.get(
                    f"{base}/api/v1/alerts", params={"status": status}, headers=reader
                )
                answer.raise_for_status()
                return {i["labels"]["instance"]: i["fingerprint"] for i in answer.json()["items"]}

            wait_for(lambda: stored("firing") == expected, "the firing alerts in opsloop")
            alertmanager_server.post_alerts(am, alerts(datetime.now(UTC) - timedelta(seconds=1)))
            wait_for(lambda: stored("resolved") == expected, "the resolved notices in opsloop")
            time.sleep(3)  # more group intervals: any repeat would have arrived
    rows = table(db)
    assert len(rows) == 3
    items = {r.fingerprint: r for r in _alerts(db)}
    assert set(items) == set(expected.values())
    for row in items.values():
        assert row.status == "resolved"
        assert row.starts_at == started
        assert row.ends_at is not None and row.ends_at > started
        assert row.service == "storefront"
        assert row.received_by == "alertmanager" and row.request_id


def _alerts(db: Database) -> list[Any]:
    with db.read() as session:
        return alerts_service.list_alerts(session, flt=alerts_service.AlertFilter(), limit=10)


def test_alertmanager_retries_reach_opsloop_once_it_is_back(db: Database, tmp_path: Path) -> None:
    make_user(db, "alertmanager", Role.responder)
    token = make_token(db, "alertmanager", Role.responder)
    port = free_port()
    hook = f"http://127.0.0.1:{port}/api/v1/alerts/alertmanager"
    started = datetime.now(UTC).replace(microsecond=0)
    sent = [
        {
            "labels": {"alertname": "Down", "instance": f"db-{n}", "severity": "critical"},
            "startsAt": started.isoformat(),
        }
        for n in range(2)
    ]
    with alertmanager_server.running_alertmanager(tmp_path, hook, token) as am:
        # opsloop is down: Alertmanager's first notifications fail and are retried.
        alertmanager_server.post_alerts(am, sent)
        expected = alertmanager_server.fingerprints(am)
        time.sleep(4)
        with running_server(tmp_path, port=port, OPSLOOP_DATABASE_URL=db.url) as (base, _):

            def arrived() -> bool:
                answer = httpx.get(f"{base}/api/v1/alerts", headers=bearer(token))
                items = answer.json()["items"]
                return {i["labels"]["instance"]: i["fingerprint"] for i in items} == expected

            wait_for(arrived, "Alertmanager's retried notifications")
            time.sleep(3)
    assert len(table(db)) == 2
