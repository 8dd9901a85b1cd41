"""Impact assessment before a change: the service's SLOs and policy, open incidents, firing
alerts, other changes, freezes and the change failure rate, with the suggested risk; through
the service, the API, the CLI and the pages. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.changes import assessment, freezes
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.incidents.rules import Severity
from opsloop.slo import evaluation
from tests.alerts.payloads import alert, webhook
from tests.changes.helpers import BOB, act, make_people, make_service, raise_change, row_counts
from tests.changes.impact_helpers import make_slo, push_minutes, run_change
from tests.cli_run import assert_clean_failure, invoke
from tests.helpers import bearer
from tests.incidents.helpers import declare
from tests.web.pages import sign_in

URL = "/api/v1/changes/assess"


@pytest.fixture
def ready(db: Database, at_now: clock.FrozenClock) -> Database:
    make_service(db, "checkout")
    make_service(db, "search")
    make_people(db)
    return db


def _busy(db: Database, client: TestClient, tokens: dict[Role, str], at: clock.FrozenClock) -> str:
    """checkout with two finished database changes, one of which an incident names as its
    cause, an open SEV2, a firing alert, a change scheduled in the window two hours from
    then and a freeze overlapping it. Returns the overlapping change's key."""
    first = run_change(db, at)
    second = run_change(db, at)
    caused = client.patch(
        f"/api/v1/incidents/{declare(db, 'Old one', services=['checkout']).key}",
        json={"caused_by_change": second.lower()},
        headers=bearer(tokens[Role.responder]),
    )
    assert caused.status_code == 200, caused.text
    assert first != second
    declare(db, "Checkout errors", severity=Severity.SEV2, services=["checkout"])
    hook = webhook(alert("f1", labels={"service": "checkout", "severity": "high"}))
    sent = client.post("/api/v1/alerts/alertmanager", json=hook, headers=bearer(tokens[Role.admin]))
    assert sent.status_code == 200, sent.text
    other = raise_change(db, service="search", title="Reindex").key
    act(db, "approve", other, BOB)
    act(db, "schedule", other, start=clock.now() + timedelta(hours=2), duration=timedelta(hours=1))
    with db.write() as session:
        freezes.create_freeze(
            session,
            principal=BOB,
            name="Launch",
            starts_at=clock.now() + timedelta(hours=2, minutes=30),
            ends_at=clock.now() + timedelta(hours=5),
            service="checkout",
        )
    return other


def test_a_quiet_service_is_low_risk(ready: Database) -> None:
    slo_id = make_slo(ready)
    push_minutes(ready, slo_id, clock.now() - timedelta(minutes=10), 10, errors=1)
    with ready.read() as session:
        found = assessment.assess(session, service="checkout")
    assert found.risk.value == "low"
    assert found.window_start == clock.now() and found.window_end == clock.now() + timedelta(
        hours=1
    )
    assert [s["name"] for s in found.slos] == ["availability"]
    assert found.failure_rate.rate is None and found.failure_rate.finished == 0


def test_a_busy_service_is_high_risk_with_every_reason(
    ready: Database, client: TestClient, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    other = _busy(ready, client, tokens, at_now)
    start = (clock.now() + timedelta(hours=2)).isoformat()
    viewer = bearer(tokens[Role.viewer])
    params = {"service": "checkout", "start": start, "duration": 60, "category": "database"}
    answered = client.get(URL, params=params, headers=viewer)
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["suggested_risk"] == "high"
    assert [i["severity"] for i in body["open_incidents"]] == ["SEV2", "SEV2"]
    assert [a["name"] for a in body["firing_alerts"]] == ["HighErrorRate"]
    assert [c["key"] for c in body["other_changes"]] == [other]
    assert [f["name"] for f in body["freezes"]] == ["Launch"]
    rate = body["change_failure_rate"]
    assert (rate["finished"], rate["failed"], rate["rate"]) == (2, 1, 0.5)
    assert rate["failed_keys"] == ["CR-2026-002"]
    reasons = " | ".join(body["reasons"])
    for expected in ("open SEV2", "change failure rate 50%", "1 freeze(s)", "alert(s) firing"):
        assert expected in reasons
    # Another category has no finished changes: no rate.
    other_category = client.get(URL, params={**params, "category": "security"}, headers=viewer)
    assert other_category.json()["change_failure_rate"]["rate"] is None

    existing = client.get(f"/api/v1/changes/{other}/assessment", headers=viewer).json()
    assert existing["service"] == "search" and existing["change_key"] == other
    assert other not in [c["key"] for c in existing["other_changes"]]


def test_refusals_name_the_field(
    ready: Database, client: TestClient, tokens: dict[Role, str]
) -> None:
    viewer = bearer(tokens[Role.viewer])
    unknown = client.get(URL, params={"service": "nope"}, headers=viewer)
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "service"
    category = client.get(URL, params={"service": "checkout", "category": "x"}, headers=viewer)
    assert category.status_code == 422 and category.json()["error"]["field"] == "category"
    assert (
        client.get(URL, params={"service": "checkout", "duration": 0}, headers=viewer).status_code
        == 422
    )
    assert (
        client.get(URL, params={"service": "checkout", "start": "soon"}, headers=viewer).status_code
        == 422
    )
    assert client.get(URL, params={"service": "checkout"}).status_code == 401
    assert client.get("/api/v1/changes/CR-2026-404/assessment", headers=viewer).status_code == 404
    # /changes/assess is not read as a change key: only GET is allowed there.
    options = client.options(URL, headers=viewer)
    assert options.status_code == 204 and options.headers["allow"] == "GET, OPTIONS"
    assert client.get("/api/v1/changes/CR-2026-404", headers=viewer).status_code == 404


def test_the_cli_assesses(
    ready: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(ready, "Checkout errors", severity=Severity.SEV1, services=["checkout"])
    before = row_counts(ready)
    printed = invoke(capsys, monkeypatch, ready, "change", "assess", "--service", "checkout")
    assert printed.returncode == 0, printed.stderr
    assert "suggested risk HIGH" in printed.stdout and "open SEV1 incident" in printed.stdout
    shown = invoke(
        capsys, monkeypatch, ready, "change", "assess", "--service", "checkout",
        "--window-start", (clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "--duration", "30", "--category", "database", "--json",
    )  # fmt: skip
    assert json.loads(shown.stdout)["window_end"].startswith("2026-11-03T09:30")
    assert_clean_failure(invoke(capsys, monkeypatch, ready, "change", "assess", "--service", "x"))
    assert_clean_failure(
        invoke(capsys, monkeypatch, ready, "change", "assess", "--service", "checkout",
               "--window-start", "later")
    )  # fmt: skip
    assert row_counts(ready) == before


def test_the_pages_show_the_assessment(
    ready: Database, client: TestClient, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    other = _busy(ready, client, tokens, at_now)
    sign_in(client, "viewer")
    page = client.get(f"/changes/{other}")
    assert page.status_code == 200
    assert 'data-testid="assessment"' in page.text and 'data-testid="suggested-risk"' in page.text
    assert 'data-testid="verification"' in page.text
    assessed = client.get("/changes/assess", params={"service": "checkout", "category": "database"})
    assert assessed.status_code == 200
    assert 'data-testid="suggested-risk">high' in assessed.text
    assert 'data-testid="failure-rate">50%' in assessed.text
    assert client.get("/changes/assess").status_code == 200
    refused = client.get("/changes/assess", params={"service": "nope"})
    assert refused.status_code == 422 and 'data-field="service"' in refused.text
    assert 'data-testid="assess-link"' in client.get("/changes").text


def test_evaluated_slos_show_budget_and_burn_rates(
    ready: Database,
    client: TestClient,
    tokens: dict[Role, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slo_id = make_slo(ready)
    # 0.08 % errors for ten minutes against a 0.1 % budget rate: burning at 0.8x.
    push_minutes(ready, slo_id, clock.now() - timedelta(minutes=10), 10, errors=8)
    evaluation.evaluate(ready, now=clock.now())
    with ready.read() as session:
        [slo] = assessment.assess(session, service="checkout").slos
    assert slo["budget_remaining"] is not None and slo["burn_rates"]["5m"] == pytest.approx(0.8)
    printed = invoke(capsys, monkeypatch, ready, "change", "assess", "--service", "checkout")
    assert "SLO availability" in printed.stdout and "5m 0.80x" in printed.stdout
    sign_in(client, "viewer")
    page = client.get("/changes/assess", params={"service": "checkout"})
    assert 'data-testid="assessment-slo"' in page.text and "burn 5m 0.80x" in page.text
