"""An incident names the change that caused it (checked with the change domain), through the
API, the CLI and the page, on its timeline; and every incident page lists its services'
changes of the 24 hours before it started. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.incidents import causes, lifecycle
from tests.changes.helpers import make_people, make_service, raise_change, row_counts
from tests.changes.impact_helpers import run_change
from tests.cli_run import assert_clean_failure, invoke
from tests.helpers import bearer
from tests.incidents.helpers import declare
from tests.web.pages import sign_in

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def at_now(frozen_clock: clock.FrozenClock) -> clock.FrozenClock:
    frozen_clock.current = NOW
    return frozen_clock


@pytest.fixture
def ready(db: Database, at_now: clock.FrozenClock) -> Database:
    make_service(db, "checkout")
    make_service(db, "search")
    make_people(db)
    return db


def test_the_api_links_checks_and_clears_the_cause(
    ready: Database, client: TestClient, tokens: dict[Role, str]
) -> None:
    change = raise_change(ready).key
    key = declare(ready, services=["checkout"]).key
    writer = bearer(tokens[Role.responder])
    url = f"/api/v1/incidents/{key}"
    before = row_counts(ready)
    refused = client.patch(url, json={"caused_by_change": "CR-2026-404"}, headers=writer)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "caused_by_change"
    assert row_counts(ready) == before
    linked = client.patch(url, json={"caused_by_change": change}, headers=writer)
    assert linked.status_code == 200 and linked.json()["caused_by_change"] == change
    shown = client.get(url, headers=bearer(tokens[Role.viewer])).json()
    assert shown["caused_by_change"] == change
    with ready.read() as session:
        events = lifecycle.timeline_of(session, key=key)
        assert causes.incidents_caused_by(session, key=change) == [key]
        assert causes.changes_named(session, keys=[change, "CR-2026-777"]) == {change}
    assert any(e.text == f"caused by change: none → {change}" for e in events)
    cleared = client.patch(url, json={"caused_by_change": None}, headers=writer)
    assert cleared.status_code == 200 and cleared.json()["caused_by_change"] is None


def test_the_cli_sets_the_cause(
    ready: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    change = raise_change(ready).key
    key = declare(ready, services=["checkout"]).key
    done = invoke(
        capsys, monkeypatch, ready, "incident", "update", key, "--caused-by", change, "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["caused_by_change"] == change
    shown = invoke(capsys, monkeypatch, ready, "incident", "show", key)
    assert f"caused by change: {change}" in shown.stdout
    refused = invoke(capsys, monkeypatch, ready, "incident", "update", key, "--caused-by", "CR-1")
    assert_clean_failure(refused)


def test_the_page_shows_the_cause_and_the_changes_before_it(
    ready: Database, client: TestClient, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    old = run_change(ready, at_now)  # finished 90 minutes after the start of the test
    at_now.advance(timedelta(hours=23))
    recent = run_change(ready, at_now)
    elsewhere = raise_change(ready, service="search").key
    key = declare(ready, services=["checkout"]).key
    sign_in(client, "viewer")
    page = client.get(f"/incidents/{key}")
    assert page.status_code == 200
    assert 'data-testid="recent-changes"' in page.text
    # The first change started 24 h 30 min before the incident: outside the 24 hours.
    assert recent in page.text and old not in page.text and elsewhere not in page.text
    assert page.text.count('data-testid="recent-change"') == 1

    csrf = sign_in(client, "responder")
    form = client.get(f"/incidents/{key}")
    assert 'name="caused_by_change"' in form.text
    edited = client.post(
        f"/incidents/{key}/edit",
        data={
            "csrf_token": csrf,
            "title": "Checkout errors",
            "severity": "SEV2",
            "caused_by_change": recent,
        },
    )
    assert edited.status_code == 200, edited.text
    assert f'href="/changes/{recent}"' in client.get(f"/incidents/{key}").text
