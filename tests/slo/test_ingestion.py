"""Pushes are data-plane writes: recorded in slo_event_pushes (one row per push), never in the
audit trail, and a bulk push looks its SLOs up in one query whatever its size."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.slo.models import EventBucket, EventDay, EventPush
from opsloop.slo.push_records import Covered, decode
from tests.helpers import bearer

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def at_now(frozen_clock: clock.FrozenClock) -> clock.FrozenClock:
    frozen_clock.current = NOW
    return frozen_clock


def create_pushed(client: TestClient, token: str, service: str, name: str) -> int:
    body = {"service": service, "name": name, "objective": 99.9}
    response = client.post("/api/v1/slos", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def item(minutes_ago: int, good: int, total: int, **extra: Any) -> dict[str, Any]:
    at = NOW - timedelta(minutes=minutes_ago)
    return {"timestamp": at.isoformat(), "good": good, "total": total, **extra}


@pytest.fixture
def slo_selects(db: Database) -> Iterator[list[str]]:
    """The statements that read the slos table, as they run."""
    seen: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM slos" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", watch)
    yield seen
    event.remove(db.engine, "before_cursor_execute", watch)


def test_a_push_is_recorded_with_who_and_which_request_not_audited(
    client: TestClient, db: Database, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver], "checkout", "availability")
    with db.read() as session:
        audited_before = audit.count(session)
    response = client.post(
        f"/api/v1/slos/{slo_id}/events",
        json={"events": [item(3, 9, 10), item(1, 10, 10), item(2, 8, 10)]},
        headers={**bearer(tokens[Role.responder]), "X-Request-ID": "push-1"},
    )
    assert response.status_code == 200, response.text
    with db.read() as session:
        assert audit.count(session) == audited_before
        pushes = list(session.scalars(select(EventPush)))
    assert [
        (p.actor, p.request_id, p.minutes, p.first_minute, p.last_minute, p.received_at)
        for p in pushes
    ] == [
        (
            "responder",
            response.headers["X-Request-ID"],  # the server's own id; the client's is not trusted
            3,
            NOW - timedelta(minutes=3),
            NOW - timedelta(minutes=1),
            NOW,
        )
    ]
    assert decode(pushes[0].slos) == [
        Covered(slo_id, 3, NOW - timedelta(minutes=3), NOW - timedelta(minutes=1))
    ]


def test_a_bulk_push_resolves_its_slos_in_one_query(
    client: TestClient,
    db: Database,
    tokens: dict[Role, str],
    at_now: clock.FrozenClock,
    slo_selects: list[str],
) -> None:
    ids = [
        create_pushed(client, tokens[Role.approver], "checkout", "availability"),
        create_pushed(client, tokens[Role.approver], "checkout", "latency"),
        create_pushed(client, tokens[Role.approver], "search", "uptime"),
    ]
    # 300 events naming their SLO three ways: by id, by service/name, by a unique bare name.
    refs = [str(ids[0]), "checkout/latency", "uptime"]
    events = [item(1 + i // 3, 1, 2, slo=refs[i % 3]) for i in range(300)]
    slo_selects.clear()
    response = client.post(
        "/api/v1/events", json={"events": events}, headers=bearer(tokens[Role.responder])
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 300}
    # One lookup; before, it was one lookup per event.
    lookups = [s for s in slo_selects if "slo_event_buckets" not in s]
    assert len(lookups) <= 2, lookups  # the lookup and, on PostgreSQL, the row locks
    with db.read() as session:
        stored = session.execute(
            select(EventBucket.slo_id, func.sum(EventBucket.good)).group_by(EventBucket.slo_id)
        ).all()
        by_day = session.execute(
            select(EventDay.slo_id, func.sum(EventDay.good)).group_by(EventDay.slo_id)
        ).all()
        pushes = session.execute(
            select(EventPush.request_id, EventPush.minutes, EventPush.slos)
        ).all()
    assert sorted(stored) == sorted(by_day) == [(i, 100) for i in ids]
    # One record for the request, covering each SLO's 100 minutes.
    [(request_id, minutes, slos)] = pushes
    assert request_id and minutes == 300
    first, last = NOW - timedelta(minutes=100), NOW - timedelta(minutes=1)
    assert decode(slos) == [Covered(i, 100, first, last) for i in sorted(ids)]


def test_a_bulk_push_names_the_index_of_a_bad_item_and_stores_nothing(
    client: TestClient, db: Database, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    first = create_pushed(client, tokens[Role.approver], "checkout", "availability")
    second = create_pushed(client, tokens[Role.approver], "checkout", "latency")
    events = [
        item(1, 1, 2, slo=str(first)),
        item(1, 1, 2, slo=str(second)),
        item(2, 1, 2, slo=str(first)),
        item(2, 3, 2, slo=str(second)),  # good > total: the second item of its SLO
    ]
    response = client.post(
        "/api/v1/events", json={"events": events}, headers=bearer(tokens[Role.responder])
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "events[3].good"
    assert response.json()["error"]["message"].startswith("events[3].good (3) is more than")
    with db.read() as session:
        assert session.scalars(select(EventBucket)).all() == []
        assert session.scalars(select(EventPush)).all() == []


def test_a_bulk_push_names_slos_by_every_kind_of_reference_and_refuses_an_ambiguous_name(
    client: TestClient, db: Database, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    token = tokens[Role.approver]
    checkout = create_pushed(client, token, "checkout", "uptime")
    search = create_pushed(client, token, "search", "uptime")
    latency = create_pushed(client, token, "search", "latency")
    responder = bearer(tokens[Role.responder])
    # Two SLOs are named "uptime": the bare name is refused, naming the field; nothing stored.
    events = [item(1, 1, 2, slo=str(latency)), item(1, 1, 2, slo="uptime")]
    response = client.post("/api/v1/events", json={"events": events}, headers=responder)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "events"
    assert "several SLOs are named 'uptime'" in response.json()["error"]["message"]
    # Ids (given as text), service/name pairs and a unique bare name in one request, several
    # pairs sharing a service and several sharing a name.
    events = [
        item(1, 1, 2, slo=str(checkout)),
        item(2, 1, 2, slo="checkout/uptime"),
        item(1, 2, 3, slo="search/uptime"),
        item(2, 2, 3, slo="search/latency"),
        item(3, 3, 4, slo="latency"),
        item(4, 1, 1, slo="nobody/uptime"),
    ]
    response = client.post("/api/v1/events", json={"events": events}, headers=responder)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "events[5].slo"
    response = client.post("/api/v1/events", json={"events": events[:5]}, headers=responder)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 5}
    with db.read() as session:
        stored = session.execute(
            select(EventBucket.slo_id, func.count(), func.sum(EventBucket.good))
            .group_by(EventBucket.slo_id)
            .order_by(EventBucket.slo_id)
        ).all()
    assert stored == [(checkout, 2, 2), (search, 1, 2), (latency, 2, 5)]


def test_the_lookup_is_the_same_statement_whatever_a_group_names_on_postgresql(
    client: TestClient,
    db: Database,
    tokens: dict[Role, str],
    at_now: clock.FrozenClock,
    slo_selects: list[str],
) -> None:
    """On PostgreSQL each list of references is one array parameter: a statement whose text
    grew with the group (one placeholder per SLO) was parsed again by the driver every time."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite has no arrays; its lookups are mostly answered from memory")
    token = tokens[Role.approver]
    ids = [create_pushed(client, token, "checkout", f"slo-{n}") for n in range(3)]
    responder = bearer(tokens[Role.responder])
    seen = []
    for count in (1, 3):
        slo_selects.clear()
        # Ids and service/name pairs, a minute each: one SLO or three of each kind.
        events = [item(2 * count, 1, 2, slo=str(i)) for i in ids[:count]]
        events += [item(2 * count + 1, 1, 2, slo=f"checkout/slo-{n}") for n in range(count)]
        response = client.post("/api/v1/events", json={"events": events}, headers=responder)
        assert response.status_code == 200, response.text
        [lookup] = [s for s in slo_selects if "FOR NO KEY UPDATE" in s]
        seen.append(lookup)
    assert seen[0] == seen[1]
    # A parameter cast to text before its array cast (``%(ids)s::VARCHAR``) made PostgreSQL
    # parse the array again for every row it scanned.
    assert "ANY" in seen[0] and "::" not in seen[0]
