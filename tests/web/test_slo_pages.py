"""The SLO list and detail pages, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.slo import evaluation
from tests.helpers import bearer

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _login(client: TestClient) -> None:
    page = client.get("/login")
    token = page.cookies.get("opsloop_login_csrf") or client.cookies.get("opsloop_login_csrf")
    response = client.post(
        "/login",
        data={"username": "viewer", "password": "correct horse battery", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_list_and_detail_show_status_policy_and_burndown(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.current = NOW
    created = client.post(
        "/api/v1/slos",
        json={"service": "checkout", "name": "availability", "objective": 99.9},
        headers=bearer(tokens[Role.approver]),
    )
    slo_id = created.json()["id"]
    events = [
        {"timestamp": (NOW - timedelta(minutes=m)).isoformat(), "good": 980, "total": 1000}
        for m in range(1, 61)
    ]
    pushed = client.post(
        f"/api/v1/slos/{slo_id}/events",
        json={"events": events},
        headers=bearer(tokens[Role.responder]),
    )
    assert pushed.status_code == 200
    evaluation.evaluate(db, now=clock.now())
    frozen_clock.advance(timedelta(minutes=2))  # the page alerts' for: 2m, pending until then
    evaluation.evaluate(db, now=clock.now())
    _login(client)
    listing = client.get("/slos").text
    assert "checkout/availability" in listing
    assert "state-freeze" in listing and 'class="badge page"' in listing
    detail = client.get(f"/slos/{slo_id}")
    assert detail.status_code == 200
    page = detail.text
    assert "<svg" in page and "polyline" in page  # the burn-down chart, drawn server-side
    assert "page-1h" in page and "firing" in page
    assert "SLO created" in page  # budget period history
    assert client.get("/slos/99999").status_code == 404
