"""The audit pages: newest first, filters, links to what changed, verification with an anchor.
SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from opsloop.core import clock
from opsloop.core.audit import verification
from opsloop.core.audit.models import AuditRecord
from opsloop.core.auth.roles import Role
from opsloop.core.clock import FrozenClock
from opsloop.core.db import Database
from tests.helpers import append_only_guard_dropped, bearer, make_user
from tests.web.pages import sign_in

ROW = re.compile(r"<tr><td>(\d+)</td><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>")


def _rows(page: str) -> list[tuple[int, str, str]]:
    return [(int(seq), actor, action) for seq, actor, action in ROW.findall(page)]


def test_filters_narrow_the_trail(
    frozen_clock: FrozenClock, client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    frozen_clock.advance(timedelta(days=1))
    created = client.post(
        "/api/v1/slos",
        json={"service": "api", "name": "availability", "objective": 99.9},
        headers=bearer(tokens[Role.approver]),
    )
    slo_id = created.json()["id"]
    sign_in(client, "approver")

    by_action = _rows(client.get("/audit", params={"action": "slo.create"}).text)
    by_actor = _rows(client.get("/audit", params={"actor": "approver"}).text)
    by_type = _rows(client.get("/audit", params={"entity_type": "slo"}).text)
    since = _rows(client.get("/audit", params={"since": "2026-11-03T09:00"}).text)
    until = _rows(client.get("/audit", params={"until": "2026-11-03T09:00"}).text)

    assert [a for _, _, a in by_action] == ["slo.create"]
    assert {a for _, a, _ in by_actor} == {"approver"}
    # sign-in, then the SLO and the service it named first (created implicitly)
    assert [a for _, a, _ in by_actor] == ["approver", "approver", "approver"]
    assert [a for _, _, a in by_type] == ["slo.create"]
    assert [a for _, _, a in since] == ["auth.login", "slo.create", "service.create"]
    assert all(action != "slo.create" for _, _, action in until)
    page = client.get("/audit", params={"entity_type": "slo"}).text
    assert f'<a href="/slos/{slo_id}">slo {slo_id}</a>' in page
    assert 'value="slo"' in page  # the filter stays filled in


def test_load_more_keeps_the_filter(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    for i in range(60):
        make_user(db, f"user{i}", Role.viewer)
    sign_in(client, "approver")

    first = client.get("/audit", params={"action": "user.create"}).text
    link = re.search(r'hx-get="/audit\?([^"]+)"', first)
    assert link
    more = client.get(f"/audit?{link.group(1).replace('&amp;', '&')}", headers={"HX-Request": "1"})

    seqs = [s for s, _, _ in _rows(first)] + [s for s, _, _ in _rows(more.text)]
    assert len(seqs) == 64  # the 60 users and the four of the tokens fixture
    assert seqs == sorted(seqs, reverse=True)
    assert {a for _, _, a in _rows(more.text)} == {"user.create"}


def test_user_records_link_to_the_users_page_only_for_admins(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    sign_in(client, "admin")
    assert re.search(r'<a href="/users#user-\d+">user \d+</a>', client.get("/audit").text)
    sign_in(client, "approver")
    page = client.get("/audit").text
    assert "/users#" not in page and "user.create" in page


def test_the_overview_feed_leaves_out_pushed_events(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    slo_id = client.post(
        "/api/v1/slos",
        json={"service": "api", "name": "availability", "objective": 99.9},
        headers=bearer(tokens[Role.approver]),
    ).json()["id"]
    minute = (clock.now() - timedelta(minutes=2)).isoformat()
    for _ in range(10):
        client.post(
            f"/api/v1/slos/{slo_id}/events",
            json={"events": [{"timestamp": minute, "good": 1, "total": 1}]},
            headers=bearer(tokens[Role.responder]),
        )
    sign_in(client, "approver")

    feed = client.get("/").text.split('data-testid="activity"')[1]

    assert "slo.events.push" not in feed
    assert "slo.create" in feed


def test_verify_with_an_anchor(client: TestClient, db: Database, tokens: dict[Role, str]) -> None:
    sign_in(client, "approver")
    page = client.get("/audit/verify").text
    anchor = re.search(r'data-testid="current-anchor" class="wrap">(\d+:[0-9a-f]{64})<', page)
    assert anchor
    seq, digest = anchor.group(1).split(":")

    good = client.get("/audit/verify", params={"anchor": anchor.group(1)})
    wrong_hash = client.get("/audit/verify", params={"anchor": f"{seq}:{'0' * 64}"})
    missing = client.get("/audit/verify", params={"anchor": f"{int(seq) + 50}:{digest}"})

    assert good.status_code == 200 and f"ends in anchor #{seq}" in good.text
    assert "the chain was rewritten" in wrong_hash.text
    assert f"record {int(seq) + 50} (in the anchor) no longer exists" in missing.text


def test_verify_reports_a_tampered_record(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    sign_in(client, "approver")
    with append_only_guard_dropped(db), db.engine.begin() as conn:
        conn.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(actor="mallory"))

    page = client.get("/audit/verify", headers={"HX-Request": "1"}).text
    overview = client.get("/").text

    assert "broken at #2" in page
    assert "broken at #2" in overview
    with db.read() as session:
        assert not verification.verify_chain(session, full=True).ok
