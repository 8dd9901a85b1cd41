"""The error-budget gate: while an SLO of the service is in feature freeze, a normal change is
neither approved nor started (409 naming the SLO, its budget left and the policy) unless an
admin overrides it with a reason; emergency changes pass with a warning. SQLite and
PostgreSQL, with the freeze produced by pushed events and an evaluation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.changes import compliance
from opsloop.changes.rules import ChangeModel, ChangeState
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.core.errors import Conflict, Forbidden
from tests.changes.helpers import (
    ADMIN,
    BOB,
    act,
    actions,
    freeze_budget,
    future,
    make_people,
    make_service,
    raise_change,
    row_counts,
)
from tests.helpers import bearer, make_token


@pytest.fixture
def frozen_service(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> Database:
    freeze_budget(client, tokens, db)
    make_people(db)
    return db


def test_a_normal_change_is_refused_naming_the_slo_budget_and_policy(
    frozen_service: Database,
) -> None:
    db = frozen_service
    key = raise_change(db).key
    before = row_counts(db)
    with pytest.raises(Conflict) as refused:
        act(db, "approve", key, BOB)
    message = refused.value.message
    assert "SLO 'availability' (freeze, budget left 5.0%)" in message
    assert "feature freeze" in message and "state 'freeze'" in message
    assert "policy names CTO as approver" in message
    assert row_counts(db) == before


def test_an_admin_override_lets_it_through_and_is_kept_for_compliance(
    frozen_service: Database,
) -> None:
    db = frozen_service
    key = raise_change(db).key
    with pytest.raises(Forbidden, match="admin"):
        act(db, "override_gate", key, BOB, reason="x")
    overridden = act(db, "override_gate", key, ADMIN, reason="security fix, CTO agreed").change
    assert overridden.gate_override_by == "root"
    assert overridden.gate_override_reason == "security fix, CTO agreed"
    approved = act(db, "approve", key, BOB)
    assert approved.change.state == ChangeState.approved
    assert "gate overridden" in approved.warnings[0]
    act(db, "schedule", key, start=future(1), duration=timedelta(hours=1))
    assert act(db, "start", key).change.state == ChangeState.in_progress
    with db.read() as session:
        assert [c.key for c in compliance.gate_overrides(session)] == [key]
    assert "change.gate_override" in actions(db, key)


def test_emergency_changes_pass_with_a_warning(frozen_service: Database) -> None:
    db = frozen_service
    key = raise_change(db, model=ChangeModel.emergency).key
    started = act(db, "start", key)
    assert started.change.state == ChangeState.in_progress
    assert "emergency change" in started.warnings[0] and "availability" in started.warnings[0]
    assert [w.kind for w in started.change.warnings] == ["error_budget"]


def test_a_standard_change_is_stopped_at_start(frozen_service: Database) -> None:
    db = frozen_service
    key = raise_change(db, model=ChangeModel.standard, rollback_plan="").key
    act(db, "schedule", key, start=future(1), duration=timedelta(hours=1))
    with pytest.raises(Conflict, match="cannot start"):
        act(db, "start", key)


def test_the_api_answers_409_and_the_override_route_is_for_admins(
    client: TestClient, frozen_service: Database
) -> None:
    db = frozen_service
    key = raise_change(db).key
    bob = bearer(make_token(db, "bob", Role.approver))
    root = bearer(make_token(db, "root", Role.admin))
    refused = client.post(f"/api/v1/changes/{key}/approve", json={}, headers=bob)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["field"] == "service"
    assert "availability" in refused.json()["error"]["message"]
    assert (
        client.post(
            f"/api/v1/changes/{key}/override-gate", json={"reason": "x"}, headers=bob
        ).status_code
        == 403
    )
    overridden = client.post(
        f"/api/v1/changes/{key}/override-gate", json={"reason": "CTO agreed"}, headers=root
    )
    assert overridden.status_code == 200, overridden.text
    assert overridden.json()["gate_override_by"] == "root"
    approved = client.post(f"/api/v1/changes/{key}/approve", json={}, headers=bob)
    assert approved.status_code == 200 and approved.json()["state"] == "approved"


def test_an_open_gate_refuses_an_override(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> None:
    make_service(db, "checkout")
    make_people(db)
    key = raise_change(db).key
    with pytest.raises(Conflict, match="does not block"):
        act(db, "override_gate", key, ADMIN, reason="just in case")
