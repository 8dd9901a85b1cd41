"""The SLO list and detail pages, on both databases."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.db import Database
from opsloop.slo import evaluation
from opsloop.slo import service as slo_service
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
    assert "<td>98.000%</td>" in listing and "<td>20.00x</td>" in listing
    detail = client.get(f"/slos/{slo_id}")
    assert detail.status_code == 200
    page = detail.text
    assert "<svg" in page and "polyline" in page  # the burn-down chart, drawn server-side
    assert "page-1h" in page and "firing" in page
    assert "SLO created" in page  # budget period history
    assert client.get("/slos/99999").status_code == 404


def _create_many(db: Database, count: int) -> None:
    with db.write() as session:
        for i in range(count):
            slo_service.apply_definition(
                session,
                principal=SYSTEM,
                defn=slo_service.pushed_definition(
                    service="search" if i % 3 == 0 else "checkout",
                    name=f"slo-{i:03d}",
                    objective=99.9,
                ),
            )


def _names(page: str) -> list[str]:
    return re.findall(r'<a href="/slos/\d+">([a-z0-9-]+/[a-z0-9-]+)</a>', page)


def test_list_pages_through_every_slo_keeping_the_filters(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.current = NOW
    _create_many(db, 120)
    evaluation.evaluate(db, now=clock.now())
    _login(client)
    seen: list[str] = []
    link: str | None = "/slos"
    while link:
        page = client.get(link)
        assert page.status_code == 200
        names = _names(page.text)
        assert 0 < len(names) <= 50
        seen += names
        found = re.search(r'href="([^"]+)" rel="next"', page.text)
        link = html.unescape(found.group(1)) if found else None
    assert len(seen) == len(set(seen)) == 120
    assert seen == sorted(seen)

    filtered = client.get("/slos?service=search&q=slo-0").text
    assert _names(filtered) == [f"search/slo-{i:03d}" for i in range(0, 100, 3)]
    second = client.get("/slos?source=push&page=2").text
    assert 'href="/slos?source=push&amp;page=3" rel="next"' in second
    assert 'href="/slos?source=push&amp;page=1" rel="prev"' in second
    beyond = client.get("/slos?page=99").text  # the last page, not an empty one
    assert len(_names(beyond)) == 20
    none = client.get("/slos?q=nothing-like-this")
    assert none.status_code == 200 and 'data-testid="no-match"' in none.text
    bad = client.get("/slos?source=kafka")
    assert bad.status_code == 422 and 'data-field="source"' in bad.text
    nul = client.get("/slos?q=a%00b")
    assert nul.status_code == 422 and 'data-field="q"' in nul.text
