"""Tests for opsloop's error-budget policy decision matrix."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsloop.slo.math import (
    NO_TRAFFIC,
    BudgetStatus,
    EventCounts,
    NoData,
    Objective,
    budget_status,
)
from opsloop.slo.policy import (
    DEFAULT_POLICY,
    NO_DATA_STATE,
    ErrorBudgetPolicy,
    PolicyTier,
)


def _tier(threshold: object, state: object, **extra: Any) -> dict[str, Any]:
    return {"threshold": threshold, "state": state, "action": f"{state} action", **extra}


def test_default_tiers_in_draining_order() -> None:
    assert DEFAULT_POLICY.states == ("monitor", "optimize", "mitigate", "freeze")
    assert [tier.threshold for tier in DEFAULT_POLICY.tiers] == [1.0, 0.5, 0.3, 0.1]


@pytest.mark.parametrize(
    ("bad", "state"),
    [
        (0, "monitor"),  # untouched budget
        (250, "monitor"),
        (499, "monitor"),  # 50.1 % left: more than 50 %
        (500, "optimize"),  # exactly 50 % left: not "more than 50 %"
        (600, "optimize"),
        (699, "optimize"),  # 30.1 % left
        (700, "mitigate"),  # exactly 30 % left (0.30000000000000004 in floats)
        (800, "mitigate"),
        (899, "mitigate"),  # 10.1 % left
        (900, "freeze"),  # exactly 10 % left (0.10000000000000009 in floats)
        (950, "freeze"),
        (1000, "freeze"),  # spent
        (2500, "freeze"),  # overspent: -150 %
    ],
)
def test_default_policy_boundaries_from_counts(bad: int, state: str) -> None:
    # 99.9 % over 30d, one million requests: the budget is 1000 failures, so ``bad`` failures
    # leave (1000 - bad) / 1000 of it. The code computes remaining from the counts.
    counts = EventCounts.from_bad(bad, 1_000_000)
    status = budget_status(counts.error_ratio, Objective(99.9), timedelta(days=30))
    assert isinstance(status, BudgetStatus)
    assert DEFAULT_POLICY.decide(status.remaining).state == state


@pytest.mark.parametrize(
    ("bad", "total", "state"),
    [(7, 10_000, "mitigate"), (9, 10_000, "freeze"), (69, 100_000, "optimize")],
)
def test_percent_errors_on_a_boundary_take_the_cautious_tier(
    bad: int, total: int, state: str
) -> None:
    # 0.07 % errors against 99.9 % spend 70 % of the budget (30 % left: mitigate), 0.09 % spend
    # 90 % (10 % left: freeze); 0.069 % leaves 31 %, still optimize.
    ratio = EventCounts.from_bad(bad, total).error_ratio
    status = budget_status(ratio, Objective(99.9), timedelta(days=30))
    assert isinstance(status, BudgetStatus)
    assert DEFAULT_POLICY.decide(status.remaining).state == state


@pytest.mark.parametrize(
    ("remaining", "approver", "blocks"),
    [
        (0.9, None, False),
        (0.45, "team lead", False),
        (0.25, "engineering manager", False),
        (0.05, "CTO", True),
    ],
)
def test_default_approvers_and_blocking(
    remaining: float, approver: str | None, blocks: bool
) -> None:
    decision = DEFAULT_POLICY.decide(remaining)
    assert decision.approver == approver
    assert decision.blocks_changes is blocks
    assert decision.remaining == remaining


def test_freeze_is_a_feature_freeze() -> None:
    decision = DEFAULT_POLICY.decide(0.0)
    assert "freeze" in decision.action.lower()
    assert DEFAULT_POLICY.blocks_changes("freeze")
    assert not DEFAULT_POLICY.blocks_changes("monitor")
    assert DEFAULT_POLICY.tier_for("monitor").approver is None


def test_no_data_is_its_own_state() -> None:
    decision = DEFAULT_POLICY.decide(NO_TRAFFIC)
    assert decision.state == NO_DATA_STATE == "no_data"
    assert decision.approver is None
    assert not decision.blocks_changes
    assert decision.remaining is NO_TRAFFIC
    assert not DEFAULT_POLICY.blocks_changes(NO_DATA_STATE)


def test_unknown_state_lookup() -> None:
    with pytest.raises(KeyError, match="unknown policy state 'panic'"):
        DEFAULT_POLICY.blocks_changes("panic")


def test_decision_from_a_measured_budget() -> None:
    # 99.9 % over 30d, error ratio 0.0005 -> consumed 0.5 -> remaining exactly 0.5 -> optimize
    status = budget_status(0.0005, Objective(99.9), timedelta(days=30))
    assert isinstance(status, BudgetStatus)
    assert DEFAULT_POLICY.decide(status.remaining).state == "optimize"


@pytest.mark.parametrize("remaining", [1.01, math.nan])
def test_decide_rejects_impossible_remaining(remaining: float) -> None:
    with pytest.raises(ValueError, match="remaining budget"):
        DEFAULT_POLICY.decide(remaining)


@given(
    st.floats(min_value=-3.0, max_value=1.0, allow_nan=False),
    st.floats(min_value=-3.0, max_value=1.0, allow_nan=False),
)
def test_less_budget_never_means_a_more_relaxed_state(a: float, b: float) -> None:
    less, more = sorted((a, b))
    states = DEFAULT_POLICY.states
    assert states.index(DEFAULT_POLICY.decide(less).state) >= states.index(
        DEFAULT_POLICY.decide(more).state
    )


# ---------------------------------------------------------------------------- config


def test_from_config_round_trips_the_default() -> None:
    config = {"tiers": [asdict(tier) for tier in DEFAULT_POLICY.tiers]}
    assert ErrorBudgetPolicy.from_config(config) == DEFAULT_POLICY


def test_from_config_custom_thresholds() -> None:
    policy = ErrorBudgetPolicy.from_config(
        {
            "tiers": [
                _tier(1.0, "green"),
                _tier(0.25, "amber", approver="on-call lead"),
                _tier(0.05, "freeze", approver="VP"),
            ]
        }
    )
    assert policy.decide(0.26).state == "green"
    assert policy.decide(0.25).state == "amber"  # boundary on the cautious side
    assert policy.decide(0.05).state == "freeze"
    # blocks_changes defaults to true for a state named "freeze", false otherwise
    assert policy.blocks_changes("freeze")
    assert not policy.blocks_changes("amber")
    assert policy.tier_for("amber") == PolicyTier(0.25, "amber", "amber action", "on-call lead")


def test_from_config_explicit_blocks_changes() -> None:
    policy = ErrorBudgetPolicy.from_config(
        {"tiers": [_tier(1.0, "ok"), _tier(0.2, "halt", blocks_changes=True)]}
    )
    assert policy.decide(0.1).blocks_changes
    assert not policy.decide(0.5).blocks_changes


def test_from_config_accepts_integer_threshold() -> None:
    policy = ErrorBudgetPolicy.from_config({"tiers": [_tier(1, "only")]})
    assert policy.decide(-2.0).state == "only"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "needs a 'tiers' list"),
        ({"tiers": "monitor"}, "needs a 'tiers' list"),
        ({"tiers": []}, "at least one tier"),
        ({"tiers": [_tier(1.0, "a")], "extra": 1}, "unknown policy keys: extra"),
        ({"tiers": ["monitor"]}, "tier 0 must be a mapping"),
        ({"tiers": [{"threshold": 1.0, "state": "a"}]}, "tier 0: missing action"),
        ({"tiers": [_tier(1.0, "a", approvr="x")]}, "unknown keys approvr"),
        ({"tiers": [_tier(1.0, "a"), _tier("0.5", "b")]}, "threshold must be a number"),
        ({"tiers": [_tier(True, "a")]}, "threshold must be a number"),
        ({"tiers": [_tier(1.0, 7)]}, "state must be a string"),
        ({"tiers": [_tier(1.0, "a", approver=3)]}, "approver must be a string"),
        ({"tiers": [_tier(1.0, "a", blocks_changes="yes")]}, "blocks_changes must be"),
        ({"tiers": [_tier(0.9, "a")]}, "first policy tier must have threshold 1.0"),
        ({"tiers": [_tier(1.0, "a"), _tier(0.0, "b")]}, r"threshold must be within \(0, 1\]"),
        ({"tiers": [_tier(1.5, "a")]}, r"threshold must be within \(0, 1\]"),
        ({"tiers": [_tier(1.0, "a"), _tier(math.nan, "b")]}, r"within \(0, 1\]"),
        (
            {"tiers": [_tier(1.0, "a"), _tier(0.3, "b"), _tier(0.5, "c")]},
            "strictly descend: 'c' \\(0.5\\) follows 'b' \\(0.3\\)",
        ),
        ({"tiers": [_tier(1.0, "a"), _tier(0.5, "b"), _tier(0.5, "c")]}, "strictly descend"),
        ({"tiers": [_tier(1.0, "a"), _tier(0.5, "a")]}, "states must be unique, repeated: a"),
        ({"tiers": [_tier(1.0, "a"), _tier(0.5, "no_data")]}, "reserved for missing data"),
        ({"tiers": [_tier(1.0, " ")]}, "state must be a non-empty string"),
        ({"tiers": [_tier(1.0, "a", approver="")]}, "approver must be a non-empty string"),
    ],
)
def test_from_config_validation(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ErrorBudgetPolicy.from_config(config)


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ValueError, match="strictly descend"):
        ErrorBudgetPolicy((PolicyTier(1.0, "a", ""), PolicyTier(1.0, "b", "")))


def test_no_data_marker_with_custom_reason() -> None:
    marker = NoData("exporter down")
    assert DEFAULT_POLICY.decide(marker).remaining is marker
