"""The reliability figures through the API, the CLI and the page (with its trend charts), and
the team and date filters of the incident list. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.incidents.rules import Severity
from tests.cli_run import Invoked, assert_clean_failure, invoke
from tests.helpers import bearer
from tests.incidents.helpers import make_service
from tests.incidents.reliability_data import Made, at, make_team, store
from tests.web.pages import sign_in

API = "/api/v1/reliability"
DAY = at("2026-10-01T00:00:00")


@pytest.fixture
def history(db: Database) -> None:
    """checkout (payments): two incidents, 2 h and 6 h to resolve; search (no team): one open."""
    make_team(db, "payments")
    make_service(db, "checkout", "payments")
    make_service(db, "search")
    store(
        db,
        [
            Made(Severity.SEV1, ("checkout",), DAY, DAY + timedelta(minutes=10),
                 acknowledged=DAY + timedelta(minutes=20), resolved=DAY + timedelta(hours=2)),
            Made(Severity.SEV2, ("checkout",), DAY + timedelta(days=10),
                 DAY + timedelta(days=10, minutes=30), resolved=DAY + timedelta(days=10, hours=6)),
            Made(Severity.SEV3, ("search",), DAY + timedelta(days=20), DAY + timedelta(days=20)),
        ],
    )  # fmt: skip


def test_api_figures_filters_and_refusals(
    client: TestClient, tokens: dict[Role, str], history: None, frozen_clock: clock.FrozenClock
) -> None:
    viewer = bearer(tokens[Role.viewer])
    period = {"since": "2026-10-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"}
    found = client.get(API, params={**period, "by": "service"}, headers=viewer)
    assert found.status_code == 200, found.text
    body = found.json()
    assert [g["group"] for g in body["groups"]] == ["checkout", "search"]
    checkout = body["groups"][0]
    assert checkout["incidents"] == 2 and checkout["open"] == 0
    assert checkout["mttr"]["mean_seconds"] == 4 * 3600 and checkout["mttr"]["mean"] == "4 h"
    assert checkout["mttr"]["median_seconds"] == 4 * 3600
    assert checkout["mttr"]["p90_seconds"] == pytest.approx(5.6 * 3600)
    assert checkout["mtta"]["count"] == 1 and checkout["mttd"]["mean_seconds"] == 20 * 60
    assert checkout["outage_seconds"] == 8 * 3600
    assert checkout["mtbf_seconds"] == (31 * 24 - 8) * 3600 / 2
    assert checkout["mttr_target_met"] is False and checkout["mtbf_target_met"] is False
    assert body["targets"] == {"mttr_seconds": 4 * 3600, "mtbf_seconds": 720 * 3600}
    by_team = client.get(API, params={**period, "by": "team"}, headers=viewer).json()
    assert [g["group"] for g in by_team["groups"]] == ["(unowned)", "payments"]
    narrowed = client.get(
        API, params={**period, "by": "severity", "team": "payments"}, headers=viewer
    )
    assert [g["group"] for g in narrowed.json()["groups"]] == ["SEV1", "SEV2"]
    weeks = client.get(API, params={**period, "by": "week"}, headers=viewer).json()
    assert weeks["groups"][0]["group"] == "2026-W40" and len(weeks["groups"]) == 5
    for params, field in (
        ({"by": "year"}, "by"),
        ({"since": "2026-10-02T00:00:00Z", "until": "2026-10-01T00:00:00Z"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"severity": "SEV9"}, "severity"),
        ({"team": "nobody"}, "team"),
    ):
        refused = client.get(API, params=params, headers=viewer)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["field"] == field
    assert client.get(API).status_code == 401


@pytest.fixture
def opsloop(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database):  # type: ignore[no-untyped-def]
    def run(*args: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args)

    return run


def test_cli_formats_and_refusals(opsloop, history: None) -> None:  # type: ignore[no-untyped-def]
    period = ("--since", "2026-10-01T00:00Z", "--until", "2026-11-01T00:00Z")
    table = opsloop("reliability", *period, "--by", "service")
    assert table.returncode == 0, table.stderr
    assert "checkout" in table.stdout and "search" in table.stdout
    assert "targets MTTR < 4 h" in table.stderr
    as_json = json.loads(
        opsloop("reliability", *period, "--by", "month", "--format", "json").stdout
    )
    assert [g["group"] for g in as_json["groups"]] == ["2026-10"]
    assert as_json["groups"][0]["incidents"] == 3
    as_csv = opsloop("reliability", *period, "--by", "severity", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert [r["severity"] for r in rows] == ["SEV1", "SEV2", "SEV3"]
    assert rows[0]["mttr_mean"] == "7200.000" and rows[2]["mttr_mean"] == ""
    relative = opsloop("reliability", "--since", "90d", "--format", "json")
    assert relative.returncode == 0 and len(json.loads(relative.stdout)["groups"]) == 2
    assert "--by" in assert_clean_failure(opsloop("reliability", "--by", "year"))
    assert "--format" in assert_clean_failure(opsloop("reliability", "--format", "xml"))
    assert "--since" in assert_clean_failure(opsloop("reliability", "--since", "last week"))
    later = assert_clean_failure(
        opsloop("reliability", "--since", "2026-10-02", "--until", "2026-10-01")
    )
    assert "since" in later


def test_page_table_charts_and_nav(
    client: TestClient, tokens: dict[Role, str], history: None, frozen_clock: clock.FrozenClock
) -> None:
    sign_in(client, "viewer")
    page = client.get("/reliability?since=2026-10-01&until=2026-11-01&by=service")
    assert page.status_code == 200
    assert page.text.count('data-testid="reliability-row"') == 2
    assert 'href="/reliability"' in page.text  # the navigation
    assert page.text.count("<svg") >= 2 and "Mean time to resolve per month" in page.text
    assert "<polyline" in page.text or "<circle" in page.text
    assert 'data-testid="mttr-target">not met' in page.text
    weekly = client.get("/reliability?since=2026-10-01&until=2026-11-01&trend=week&team=payments")
    assert weekly.status_code == 200 and "2026-W40" in weekly.text
    assert weekly.text.count('data-testid="reliability-row"') == 1
    for query, field in (("by=year", "by"), ("since=yesterday", "since"), ("period=2d", "period")):
        refused = client.get(f"/reliability?{query}")
        assert refused.status_code == 422 and f'data-field="{field}"' in refused.text


def test_incident_list_team_and_date_filters(
    client: TestClient, tokens: dict[Role, str], history: None, frozen_clock: clock.FrozenClock
) -> None:
    sign_in(client, "viewer")
    rows = 'data-testid="incident-row"'
    assert client.get("/incidents").text.count(rows) == 3
    assert client.get("/incidents?team=payments").text.count(rows) == 2
    assert client.get("/incidents?since=2026-10-05").text.count(rows) == 2
    assert client.get("/incidents?since=2026-10-05&until=2026-10-15").text.count(rows) == 1
    assert client.get("/incidents?since=soon").status_code == 422
    assert client.get("/incidents?team=nobody").status_code == 422
