"""Pushes checked before their group takes the write lock, and SLOs kept between groups: both
hold only while the SLOs are as they were (the counter ``slos``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from opsloop.core import clock
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.db import Database
from opsloop.core.errors import ValidationFailed
from opsloop.slo.ingestion import BulkPush, Checked, check_pushes, store_pushes
from opsloop.slo.models import EventBucket
from tests.helpers import bearer
from tests.slo.test_ingestion import create_pushed

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PUSHER = Principal(actor="pusher", role=Role.responder)


@pytest.fixture(autouse=True)
def at_now(frozen_clock: clock.FrozenClock) -> clock.FrozenClock:
    frozen_clock.current = NOW
    return frozen_clock


def bulk(ref: str, minutes_ago: int) -> BulkPush:
    return BulkPush([(ref, (NOW - timedelta(minutes=minutes_ago), 1, 2))], PUSHER, "r")


def stored(db: Database) -> list[tuple[int, datetime]]:
    with db.read() as session:
        rows = session.execute(select(EventBucket.slo_id, EventBucket.minute)).all()
    return sorted((slo_id, minute) for slo_id, minute in rows)


def test_a_push_checked_before_its_slo_was_deleted_is_checked_again(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver], "checkout", "availability")
    checked = check_pushes(db, [bulk("checkout/availability", 3)])
    assert isinstance(checked[0], Checked) and isinstance(checked[0].outcome, dict)
    assert checked[0].outcome.keys() == {slo_id}

    deleted = client.delete(f"/api/v1/slos/{slo_id}", headers=bearer(tokens[Role.admin]))
    assert deleted.status_code == 204
    with db.write(audited=False) as session:
        outcomes = store_pushes(session, checked)
    assert isinstance(outcomes[0], ValidationFailed) and "no SLO" in str(outcomes[0])
    assert stored(db) == []


def test_a_checked_push_is_stored_as_checked_while_the_slos_stand_still(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver], "checkout", "availability")
    checked = check_pushes(db, [bulk("checkout/availability", 3), bulk("nope/none", 3)])
    with db.write(audited=False) as session:
        outcomes = store_pushes(session, checked)
    assert outcomes[0] == 1 and isinstance(outcomes[1], ValidationFailed)
    assert stored(db) == [(slo_id, NOW - timedelta(minutes=3))]


def test_slos_kept_between_groups_follow_a_delete_and_a_new_slo_of_the_same_name(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    old = create_pushed(client, tokens[Role.approver], "checkout", "availability")
    create_pushed(client, tokens[Role.approver], "search", "latency")  # a new id differs
    with db.write(audited=False) as session:
        assert store_pushes(session, [bulk("checkout/availability", 3)]) == [1]
    client.delete(f"/api/v1/slos/{old}", headers=bearer(tokens[Role.admin]))
    new = create_pushed(client, tokens[Role.approver], "checkout", "availability")
    assert new != old
    with db.write(audited=False) as session:
        assert store_pushes(session, [bulk("checkout/availability", 2)]) == [1]
    assert stored(db) == [(new, NOW - timedelta(minutes=2))]
