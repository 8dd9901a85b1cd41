"""Routing rules and silences through the API, the CLI and the web pages: who may write,
refusals that name the field and change nothing, the audit trail, an alert's incident and an
incident's alerts on their pages. Silences without Alertmanager configured, or unreachable,
are refused and nothing is recorded. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opsloop.alerts import router
from opsloop.alerts.routing_models import RouteRule, Silence
from opsloop.app import create_app
from opsloop.core.audit.models import AuditRecord
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.alerts.routing_helpers import incidents, receive, storm
from tests.cli_run import Invoked, assert_clean_failure, invoke
from tests.helpers import bearer
from tests.web.pages import sign_in, user_per_role

ROUTES = "/api/v1/alerts/routes"
SILENCES = "/api/v1/alerts/silences"
Run = Callable[..., Invoked]


def count(db: Database, table: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def audited(db: Database, prefix: str) -> list[str]:
    with db.read() as session:
        query = select(AuditRecord.action).where(AuditRecord.action.like(f"{prefix}%"))
        return list(session.scalars(query.order_by(AuditRecord.seq)))


def test_rules_through_the_api(client: TestClient, tokens: dict[Role, str], db: Database) -> None:
    responder, viewer = bearer(tokens[Role.responder]), bearer(tokens[Role.viewer])
    body = {"matchers": '{severity=~"critical|high", env!="dev"}', "action": "declare"}
    assert client.post(ROUTES, json=body, headers=viewer).status_code == 403
    made = client.post(
        ROUTES, json={**body, "severity": "sev2", "name": "pages"}, headers=responder
    )
    assert made.status_code == 201, made.text
    first = made.json()
    assert first["matchers"] == '{severity=~"critical|high", env!="dev"}'
    assert first["severity"] == "SEV2" and first["continue"] is False
    attach = {"matchers": "service=api", "action": "attach", "continue": True, "position": 1}
    second = client.post(ROUTES, json=attach, headers=responder).json()
    listed = client.get(ROUTES, headers=viewer).json()
    assert [r["id"] for r in listed] == [second["id"], first["id"]]
    assert [r["position"] for r in listed] == [1, 2]

    tried = client.post(
        f"{ROUTES}/test", json={"labels": {"service": "api", "severity": "high"}}, headers=viewer
    )
    assert [r["id"] for r in tried.json()["matched"]] == [second["id"], first["id"]]
    none = client.post(f"{ROUTES}/test", json={"labels": {"env": "dev"}}, headers=viewer)
    assert none.json() == {"matched": []}

    for bad, field in (
        ({"matchers": 'severity=~"("', "action": "declare"}, "matchers"),
        ({"matchers": "a=1", "action": "declare", "severity": "SEV9"}, "severity"),
        ({"matchers": "a=1", "action": "declare", "fallback_declare": True}, "fallback_declare"),
        ({"matchers": "a=1", "action": "declare", "position": 9}, "position"),
    ):
        refused = client.post(ROUTES, json=bad, headers=responder)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["field"] == field
    assert (
        client.post(
            ROUTES, json={"matchers": "a=1", "action": "page"}, headers=responder
        ).status_code
        == 422
    )
    assert count(db, RouteRule) == 2

    patched = client.patch(
        f"{ROUTES}/{first['id']}",
        json={"position": 1, "continue": True, "severity": "SEV1"},
        headers=responder,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["position"] == 1 and patched.json()["continue"] is True
    assert patched.json()["matchers"] == first["matchers"]
    assert [r["id"] for r in client.get(ROUTES, headers=viewer).json()] == [
        first["id"],
        second["id"],
    ]
    for bad, field in (
        ({"matchers": "x=~("}, "matchers"),
        ({"fallback_declare": True}, "fallback_declare"),
    ):
        refused = client.patch(f"{ROUTES}/{first['id']}", json=bad, headers=responder)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == field
    assert client.patch(f"{ROUTES}/999", json={"name": "x"}, headers=responder).status_code == 404
    assert (
        client.patch(f"{ROUTES}/{first['id']}", json={"name": "x"}, headers=viewer).status_code
        == 403
    )
    assert client.get(ROUTES, headers=viewer).json()[0]["severity"] == "SEV1"

    assert client.delete(f"{ROUTES}/{second['id']}", headers=viewer).status_code == 403
    assert client.delete(f"{ROUTES}/{second['id']}", headers=responder).status_code == 204
    assert client.delete(f"{ROUTES}/{second['id']}", headers=responder).status_code == 404
    assert audited(db, "alert.route") == [
        "alert.route.add",
        "alert.route.add",
        "alert.route.update",
        "alert.route.delete",
    ]


def test_silences_need_alertmanager(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    responder = bearer(tokens[Role.responder])
    body = {"matchers": ['service="api"'], "duration_minutes": 60, "comment": "deploy"}
    refused = client.post(SILENCES, json=body, headers=responder)
    assert refused.status_code == 409
    assert "OPSLOOP_ALERTMANAGER_URL is not set" in refused.json()["error"]["message"]
    assert count(db, Silence) == 0
    assert client.get(SILENCES, headers=bearer(tokens[Role.viewer])).json() == []


def test_unreachable_alertmanager_records_nothing(
    db: Database, tmp_path: Path, tokens: dict[Role, str]
) -> None:
    settings = Settings(
        database_url=db.url,
        data_dir=tmp_path / "data",
        scheduler_enabled=False,
        alertmanager_url="http://127.0.0.1:9",
        alertmanager_timeout_seconds=2,
    )
    with TestClient(create_app(settings, db)) as client:
        responder = bearer(tokens[Role.responder])
        body = {"matchers": ['service="api"'], "duration_minutes": 60, "comment": "deploy"}
        answer = client.post(SILENCES, json=body, headers=responder)
        assert answer.status_code == 503
        assert "unreachable" in answer.json()["error"]["message"]
        empty = {**body, "matchers": ['team=""']}
        assert (
            client.post(SILENCES, json=empty, headers=responder).json()["error"]["field"]
            == "matchers"
        )
        no_end = {"matchers": ['service="api"'], "comment": "x"}
        assert client.post(SILENCES, json=no_end, headers=responder).status_code == 422
    assert count(db, Silence) == 0
    assert audited(db, "alert.silence") == []


@pytest.fixture
def opsloop(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database
) -> Run:
    def run(*args: str, **env: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args, **env)

    return run


def test_rules_and_silences_in_the_cli(opsloop: Run, db: Database) -> None:
    added = opsloop(
        "alerts", "route", "add", '{severity="critical", env!="dev"}', "--severity", "SEV1"
    )
    assert added.returncode == 0, added.stderr
    opsloop(
        "alerts",
        "route",
        "add",
        "service=api",
        "--action",
        "attach",
        "--continue",
        "--position",
        "1",
    )
    listed = opsloop("alerts", "route", "list", "--json")
    assert listed.returncode == 0 and '"continue": true' in listed.stdout
    tested = opsloop("alerts", "route", "test", "service=api,severity=critical")
    assert tested.returncode == 0 and "matches first (attach)" in tested.stderr + tested.stdout
    nothing = opsloop("alerts", "route", "test", "service=web")
    assert "no rule matches" in nothing.stderr + nothing.stdout
    edited = opsloop("alerts", "route", "edit", "1", "--no-continue", "--position", "2")
    assert edited.returncode == 0, edited.stderr
    assert_clean_failure(opsloop("alerts", "route", "edit", "1"))
    assert_clean_failure(opsloop("alerts", "route", "edit", "1", "--action", "page"))
    line = assert_clean_failure(opsloop("alerts", "route", "add", 'severity=~"("'))
    assert "matchers" in line
    assert_clean_failure(opsloop("alerts", "route", "test", "severity!=x"))
    assert_clean_failure(opsloop("alerts", "route", "delete", "999"))
    assert count(db, RouteRule) == 2

    line = assert_clean_failure(
        opsloop("alerts", "silence", "create", 'service="api"', "--for", "1h", "--comment", "x")
    )
    assert "OPSLOOP_ALERTMANAGER_URL is not set" in line
    assert_clean_failure(opsloop("alerts", "silence", "expire", "1"))
    assert count(db, Silence) == 0
    assert opsloop("alerts", "silence", "list").returncode == 0


@pytest.fixture
def web(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    user_per_role(db)
    settings = Settings(database_url=db.url, data_dir=tmp_path / "data", scheduler_enabled=False)
    with TestClient(create_app(settings, db)) as client:
        yield client


def test_the_pages(web: TestClient, db: Database, opsloop: Run) -> None:
    csrf = sign_in(web, "viewer")
    page = web.get("/alerts/routing")
    assert page.status_code == 200 and 'data-testid="add-rule"' not in page.text
    assert 'data-testid="no-alertmanager"' in page.text
    denied = web.post("/alerts/routing/rules", data={"csrf_token": csrf, "matchers": "a=1"})
    assert denied.status_code == 403

    csrf = sign_in(web, "responder")
    assert 'data-testid="add-rule"' in web.get("/alerts/routing").text
    bad = web.post("/alerts/routing/rules", data={"csrf_token": csrf, "matchers": "a=~("})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    made = web.post(
        "/alerts/routing/rules",
        data={"csrf_token": csrf, "matchers": 'severity="critical"', "severity": "SEV2"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert "severity=&#34;critical&#34;" in web.get("/alerts/routing").text

    receive(db, *storm(3))
    router.route_pending(db)
    (incident,) = incidents(db)
    incident_page = web.get(f"/incidents/{incident.key}")
    assert f'hx-get="/alerts/of-incident/{incident.id}"' in incident_page.text
    fragment = web.get(f"/alerts/of-incident/{incident.id}")
    assert fragment.text.count('href="/alerts/') == 3 and "3 alerts routed here" in fragment.text
    alert_id = int(fragment.text.split('href="/alerts/')[1].split('"')[0])
    alert_page = web.get(f"/alerts/{alert_id}")
    assert f'href="/incidents/{incident.key}"' in alert_page.text
    shown = opsloop("alerts", "show", str(alert_id)).stdout
    assert f"incident: {incident.key}" in shown
    # No Alertmanager configured: no "silence similar" form.
    assert 'data-testid="silence-form"' not in alert_page.text
    refused = web.post(
        "/alerts/silences",
        data={"csrf_token": csrf, "matchers": 'service="api"', "minutes": "60", "comment": "x"},
    )
    assert refused.status_code == 409 and "OPSLOOP_ALERTMANAGER_URL is not set" in refused.text
    assert count(db, Silence) == 0
