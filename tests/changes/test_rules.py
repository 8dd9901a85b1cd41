"""The pure rules: the table of moves, approvals per risk, the emergency approval deadline,
windows and the gate's verdict on a budget state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from opsloop.changes.rules import (
    MOVES,
    ChangeModel,
    ChangeState,
    RiskLevel,
    change_key,
    change_policy,
    check_move,
    emergency_non_compliant,
    gate_verdict,
    overlaps,
)
from opsloop.core.config import Settings
from opsloop.core.errors import Conflict, ValidationFailed

S = ChangeState
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("model", "before", "after"),
    [
        (ChangeModel.normal, S.draft, S.submitted),
        (ChangeModel.normal, S.submitted, S.approved),
        (ChangeModel.normal, S.submitted, S.rejected),
        (ChangeModel.normal, S.approved, S.scheduled),
        (ChangeModel.normal, S.scheduled, S.scheduled),
        (ChangeModel.normal, S.scheduled, S.in_progress),
        (ChangeModel.normal, S.in_progress, S.completed),
        (ChangeModel.normal, S.in_progress, S.failed),
        (ChangeModel.normal, S.in_progress, S.rolled_back),
        (ChangeModel.normal, S.completed, S.rolled_back),
        (ChangeModel.emergency, S.submitted, S.in_progress),
    ],
)
def test_allowed_moves(model: ChangeModel, before: ChangeState, after: ChangeState) -> None:
    check_move(model, before, after)


@pytest.mark.parametrize(
    ("model", "before", "after"),
    [
        (ChangeModel.normal, S.submitted, S.in_progress),
        (ChangeModel.standard, S.submitted, S.in_progress),
        (ChangeModel.normal, S.draft, S.approved),
        (ChangeModel.normal, S.approved, S.in_progress),
        (ChangeModel.normal, S.rejected, S.submitted),
        (ChangeModel.normal, S.failed, S.rolled_back),
        (ChangeModel.normal, S.rolled_back, S.completed),
        (ChangeModel.normal, S.completed, S.in_progress),
    ],
)
def test_refused_moves(model: ChangeModel, before: ChangeState, after: ChangeState) -> None:
    with pytest.raises(Conflict):
        check_move(model, before, after)


def test_final_states_have_no_way_out() -> None:
    assert {s for s in ChangeState if not MOVES[s]} == {S.rejected, S.failed, S.rolled_back}


def test_approvals_per_risk_and_configuration() -> None:
    policy = change_policy()
    assert [policy.approvals_needed(r) for r in RiskLevel] == [1, 1, 2]
    custom = change_policy(["network"], {"high": 3, "low": 1}, 12)
    assert custom.approvals_needed(RiskLevel.high) == 3
    assert "network" in custom.categories and "security" in custom.categories
    assert custom.emergency_approval == timedelta(hours=12)
    with pytest.raises(ValidationFailed):
        change_policy(approvals={"extreme": 1})
    with pytest.raises(ValidationFailed):
        change_policy(approvals={"high": 0})


def test_emergency_approval_is_due_a_day_after_the_start() -> None:
    policy = change_policy()
    due = T0 + timedelta(hours=24)
    assert not emergency_non_compliant(T0, None, due, policy)  # the deadline itself is in time
    assert emergency_non_compliant(T0, None, due + timedelta(seconds=1), policy)
    assert not emergency_non_compliant(T0, due, due + timedelta(days=9), policy)
    assert emergency_non_compliant(T0, due + timedelta(minutes=1), due, policy)
    assert not emergency_non_compliant(None, None, due, policy)


def test_windows_are_half_open_and_keys_pad_to_three_digits() -> None:
    hour = timedelta(hours=1)
    assert overlaps(T0, T0 + hour, T0 + hour / 2, T0 + 2 * hour)
    assert not overlaps(T0, T0 + hour, T0 + hour, T0 + 2 * hour)
    assert change_key(2026, 7) == "CR-2026-007" and change_key(2026, 1234) == "CR-2026-1234"


def test_the_verdict_names_the_slos_in_a_blocking_state() -> None:
    state = {
        "service": "checkout",
        "state": "freeze",
        "blocks_changes": True,
        "approver": "CTO",
        "tiers": [
            {"threshold": 0.5, "state": "monitor", "blocks_changes": False},
            {"threshold": 0.1, "state": "freeze", "blocks_changes": True},
        ],
        "slos": [
            {"name": "availability", "state": "freeze", "budget_remaining": 0.05},
            {"name": "latency", "state": "monitor", "budget_remaining": 0.4},
        ],
    }
    found = gate_verdict(state)
    assert found.blocks and [s.name for s in found.slos] == ["availability"]
    assert "SLO 'availability' (freeze, budget left 5.0%)" in found.describe()
    calm = gate_verdict({**state, "blocks_changes": False, "state": "monitor"})
    assert not calm.blocks and calm.slos == ()


def test_settings_refuse_unknown_risks_and_odd_categories() -> None:
    assert Settings(change_approvals={"HIGH": 3}).change_approvals == {"high": 3}
    assert Settings(change_categories=[" Network "]).change_categories == ["network"]
    with pytest.raises(ValidationError, match="not a risk level"):
        Settings(change_approvals={"extreme": 1})
    with pytest.raises(ValidationError, match="at least 1"):
        Settings(change_approvals={"low": 0})
    with pytest.raises(ValidationError, match="lower-case"):
        Settings(change_categories=["no spaces"])
