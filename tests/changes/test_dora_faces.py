"""DORA's keys through the API, the CLI and the page, on a week worked out by hand: two
deployments (lead times 9 h and 2 h), one failed, one rolled back for an incident resolved in
45 minutes. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.changes import recording
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.incidents import lifecycle
from opsloop.incidents.rules import Status
from tests.changes.helpers import ADMIN, BOB, act, make_people, make_service, raise_change
from tests.cli_run import Invoked, assert_clean_failure, invoke
from tests.helpers import bearer
from tests.incidents.helpers import RESPONDER, declare
from tests.web.pages import sign_in


@pytest.fixture
def opsloop(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database):  # type: ignore[no-untyped-def]
    def run(*args: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args)

    return run


@pytest.fixture
def week(db: Database, at_now: clock.FrozenClock) -> clock.FrozenClock:
    make_service(db, "checkout")
    make_service(db, "search")
    make_people(db)
    now = clock.now()

    def ago(minutes: int) -> datetime:
        return now - timedelta(minutes=minutes)

    deployments = [
        ("1", "completed", ago(600), ago(120), ago(60)),
        ("2", "completed", ago(300), ago(240), ago(180)),
        ("3", "failed", None, ago(30), ago(20)),
    ]
    with db.write() as session:
        for version, status, committed, started, finished in deployments:
            recording.record_deployment(
                session, principal=ADMIN, service="checkout", version=version, status=status,
                committed_at=committed, started_at=started, finished_at=finished,
            )  # fmt: skip
    raise_change(db)
    act(db, "approve", "CR-2026-004", who=BOB)
    act(db, "schedule", "CR-2026-004", start=now + timedelta(hours=1), duration=timedelta(hours=2))
    at_now.current += timedelta(hours=1)
    act(db, "start", "CR-2026-004")
    act(db, "complete", "CR-2026-004")
    incident = declare(db, services=["checkout"])
    at_now.current += timedelta(minutes=45)
    with db.write() as session:
        lifecycle.change_status(
            session, principal=RESPONDER, key=incident.key, status=Status.resolved
        )
    act(db, "rollback", "CR-2026-004", reason="errors up", incident_key=incident.key)
    at_now.current += timedelta(minutes=1)  # the period ends now, exclusive
    return at_now


def test_the_api_answers_the_keys_and_bands(
    client: TestClient, week: clock.FrozenClock, tokens: dict[Role, str]
) -> None:
    who = bearer(tokens[Role.viewer])
    answer = client.get("/api/v1/changes/dora?since=7d&by=service", headers=who)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    (row,) = body["rows"]
    assert row["group"] == "checkout" and body["total"]["deployments"] == 2
    assert row["deployments"] == 2 and row["deploys_per_week"] == pytest.approx(2)
    assert row["lead_time_median_seconds"] == pytest.approx(5.5 * 3600)
    assert row["lead_time_p90_seconds"] == pytest.approx(8.3 * 3600)
    assert (row["finished"], row["failures"], row["change_failure_rate"]) == (4, 2, 0.5)
    assert row["incidents"] == 1 and row["time_to_restore_median_seconds"] == 45 * 60
    assert row["bands"] == {
        "deployment_frequency": "high",
        "lead_time": "elite",
        "change_failure_rate": "low",
        "time_to_restore": "elite",
    }
    weeks = client.get("/api/v1/changes/dora?since=14d&by=week", headers=who).json()["rows"]
    assert [w["group"] for w in weeks] == ["2026-10-19", "2026-10-26", "2026-11-02"]
    assert [w["deployments"] for w in weeks] == [0, 0, 2]  # Monday 06:00 and 08:00
    for query, field in (("by=year", "by"), ("since=soon", "since"), ("team=nobody", "team")):
        refused = client.get(f"/api/v1/changes/dora?{query}", headers=who)
        assert refused.status_code == 422 and field in refused.text, query


def test_the_cli_prints_a_table_or_json(opsloop, week: clock.FrozenClock) -> None:  # type: ignore[no-untyped-def]
    table = opsloop("change", "dora", "--since", "7d")
    assert table.returncode == 0, table.stderr
    assert "checkout" in table.stdout and "5.5 h" in table.stdout
    shown = json.loads(opsloop("change", "dora", "--by", "team", "--format", "json").stdout)
    assert [r["group"] for r in shown["rows"]] == ["(no team)"]
    bad = opsloop("change", "dora", "--format", "xml")
    assert "--format" in assert_clean_failure(bad)


def test_the_page_shows_the_table_and_the_charts(
    client: TestClient, week: clock.FrozenClock, tokens: dict[Role, str]
) -> None:
    sign_in(client, "viewer")
    page = client.get("/changes/dora?since=28d")
    assert page.status_code == 200
    assert page.text.count('data-testid="dora-row"') == 2  # checkout and the total
    assert page.text.count("<svg") == 3 and "Median lead time per week" in page.text
    assert "band-elite" in page.text and "50.0%" in page.text
    refused = client.get("/changes/dora?by=year")
    assert refused.status_code == 422 and 'data-field="by"' in refused.text
    assert 'href="/changes/dora"' in client.get("/changes").text
