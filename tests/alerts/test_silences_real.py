"""Silences against a real Alertmanager: created through opsloop's API, CLI and the alert
page's "silence similar" form, seen in Alertmanager's /api/v2/silences with the matchers,
author and comment given; expired through opsloop and seen expired there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from opsloop.alerts import service as alerts
from opsloop.alerts import silences
from opsloop.alerts.alertmanager_client import AlertmanagerClient
from opsloop.alerts.routing_models import Silence
from opsloop.app import create_app
from opsloop.core import clock
from opsloop.core.audit.models import AuditRecord
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.alerts import alertmanager_server
from tests.alerts.payloads import alert
from tests.alerts.routing_helpers import receive
from tests.cli_run import invoke
from tests.helpers import bearer
from tests.web.pages import sign_in, user_per_role

pytestmark = pytest.mark.skipif(
    alertmanager_server.missing() is not None, reason=str(alertmanager_server.missing())
)
SILENCES = "/api/v1/alerts/silences"


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    # Nothing is delivered in these tests; the webhook only has to be a valid URL.
    with alertmanager_server.running_alertmanager(tmp_path, "http://127.0.0.1:9/hook", "x") as base:
        yield base


def in_alertmanager(base: str) -> dict[str, dict[str, Any]]:
    response = httpx.get(f"{base}/api/v2/silences", timeout=10)
    response.raise_for_status()
    return {s["id"]: s for s in response.json()}


def test_create_and_expire_through_the_api(
    db: Database, tmp_path: Path, alertmanager: str, tokens: dict[Role, str]
) -> None:
    settings = Settings(
        database_url=db.url,
        data_dir=tmp_path / "data",
        scheduler_enabled=False,
        alertmanager_url=alertmanager,
    )
    responder = bearer(tokens[Role.responder])
    with TestClient(create_app(settings, db)) as client:
        body = {
            "matchers": ['service="checkout"', 'severity=~"low|medium"', 'env!="prod"'],
            "duration_minutes": 90,
            "comment": "noisy during the migration",
        }
        made = client.post(SILENCES, json=body, headers=responder)
        assert made.status_code == 201, made.text
        created = made.json()
        assert created["state"] == "active" and created["created_by"] == "responder"
        there = in_alertmanager(alertmanager)[created["alertmanager_id"]]
        assert there["status"]["state"] == "active"
        assert there["createdBy"] == "responder" and there["comment"] == body["comment"]
        assert sorted(
            (m["name"], m["value"], m["isRegex"], m["isEqual"]) for m in there["matchers"]
        ) == [
            ("env", "prod", False, False),
            ("service", "checkout", False, True),
            ("severity", "low|medium", True, True),
        ]
        listed = client.get(SILENCES, headers=bearer(tokens[Role.viewer])).json()
        assert [s["id"] for s in listed] == [created["id"]]

        expired = client.post(f"{SILENCES}/{created['id']}/expire", headers=responder)
        assert expired.status_code == 200 and expired.json()["state"] == "expired"
        assert expired.json()["expired_by"] == "responder"
        assert (
            in_alertmanager(alertmanager)[created["alertmanager_id"]]["status"]["state"]
            == "expired"
        )
        again = client.post(f"{SILENCES}/{created['id']}/expire", headers=responder)
        assert again.status_code == 409
        assert client.get(SILENCES, headers=responder).json() == []
        assert len(client.get(f"{SILENCES}?include_expired=true", headers=responder).json()) == 1

        # Expired in Alertmanager's own UI: the live list says so.
        other = client.post(SILENCES, json={**body, "comment": "other"}, headers=responder)
        other_id = other.json()["alertmanager_id"]
        httpx.delete(f"{alertmanager}/api/v2/silence/{other_id}", timeout=10).raise_for_status()
        (live,) = client.get(f"{SILENCES}?live=true", headers=responder).json()
        assert live["state"] == "active" and live["alertmanager_state"] == "expired"
        assert client.get(SILENCES, headers=responder).json()[0]["alertmanager_state"] is None
        # Expiring one Alertmanager already ended is no error: it is recorded as expired.
        ended = client.post(f"{SILENCES}/{other.json()['id']}/expire", headers=responder)
        assert ended.status_code == 200, ended.text
        assert ended.json()["state"] == "expired"
    with db.read() as session:
        actions = session.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.action.like("alert.silence.%"))
            .order_by(AuditRecord.seq)
        )
        assert list(actions) == ["alert.silence.create", "alert.silence.expire"] * 2


def test_the_service_functions_for_other_domains(db: Database, alertmanager: str) -> None:
    client = AlertmanagerClient(alertmanager)
    window = Principal(actor="change-window", role=Role.responder)
    now = clock.now()
    with db.write() as session:
        found = silences.create_silence(
            session,
            principal=window,
            matchers=['{service="billing"}'],
            starts_at=now + timedelta(hours=1),
            ends_at=now + timedelta(hours=3),
            comment="change 42",
            alertmanager=client,
        )
    assert found.state == "pending"
    assert in_alertmanager(alertmanager)[found.alertmanager_id]["status"]["state"] == "pending"
    with db.write() as session:
        ended = silences.expire_silence(
            session, principal=window, silence_id=found.id, alertmanager=client
        )
    assert ended.state == "expired"


def test_cli_and_the_alert_page(
    db: Database,
    tmp_path: Path,
    alertmanager: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {"OPSLOOP_ALERTMANAGER_URL": alertmanager}
    made = invoke(
        capsys,
        monkeypatch,
        db,
        "alerts",
        "silence",
        "create",
        'service="api"',
        'alertname="DiskFull"',
        "--for",
        "2h",
        "--comment",
        "disk swap",
        **env,
    )
    assert made.returncode == 0, made.stderr
    with db.read() as session:
        row = session.scalars(select(Silence)).one()
    assert in_alertmanager(alertmanager)[row.alertmanager_id]["comment"] == "disk swap"
    listed = invoke(capsys, monkeypatch, db, "alerts", "silence", "list", "--json", **env)
    assert row.alertmanager_id in listed.stdout
    gone = invoke(capsys, monkeypatch, db, "alerts", "silence", "expire", str(row.id), **env)
    assert gone.returncode == 0, gone.stderr
    assert in_alertmanager(alertmanager)[row.alertmanager_id]["status"]["state"] == "expired"

    user_per_role(db)
    receive(db, alert("d1", name="DiskFull", labels={"service": "api", "severity": "high"}))
    with db.read() as session:
        (stored,) = alerts.list_alerts(session, flt=alerts.AlertFilter(), limit=1)
    settings = Settings(
        database_url=db.url,
        data_dir=tmp_path / "data",
        scheduler_enabled=False,
        alertmanager_url=alertmanager,
    )
    with TestClient(create_app(settings, db)) as web:
        csrf = sign_in(web, "responder")
        page = web.get(f"/alerts/{stored.id}")
        assert 'data-testid="silence-form"' in page.text
        assert (
            "alertname=&#34;DiskFull&#34;\nservice=&#34;api&#34;\nseverity=&#34;high&#34;"
            in page.text
        )
        posted = web.post(
            "/alerts/silences",
            data={
                "csrf_token": csrf,
                "matchers": 'alertname="DiskFull"\nservice="api"',
                "minutes": "30",
                "comment": "known, fixing",
            },
            follow_redirects=False,
        )
        assert posted.status_code == 303, posted.text
        assert "known, fixing" in web.get("/alerts/routing").text
    comments = {s["comment"]: s["status"]["state"] for s in in_alertmanager(alertmanager).values()}
    assert comments == {"disk swap": "expired", "known, fixing": "active"}
