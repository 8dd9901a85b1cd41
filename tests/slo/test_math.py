"""Hand-checked tests for opsloop's SLI, budget, burn-rate and alert arithmetic."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsloop.slo.math import (
    NO_TRAFFIC,
    BudgetStatus,
    EventCounts,
    NoData,
    Objective,
    budget_minutes,
    budget_status,
    burn_rate,
    error_ratio,
    forecast_remaining,
    time_to_exhaustion,
)

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)

objectives = st.sampled_from([90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999]).map(Objective)
periods = st.sampled_from([7 * D, 28 * D, 30 * D, 90 * D])
remainings = st.floats(min_value=-5.0, max_value=1.0, allow_nan=False)
burns = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False)


# ---------------------------------------------------------------------------- SLI


def test_sli_from_good_and_total() -> None:
    # 999 good of 1000 -> 999 / 1000 = 0.999
    assert EventCounts(999, 1000).sli == 0.999


def test_sli_from_bad_and_total() -> None:
    # 1 bad of 1000 -> good = 999 -> 999 / 1000 = 0.999
    assert EventCounts.from_bad(1, 1000).sli == 0.999


def test_sli_extremes() -> None:
    assert EventCounts(0, 10).sli == 0.0  # 0 / 10
    assert EventCounts(10, 10).sli == 1.0  # 10 / 10
    assert EventCounts.from_bad(10, 10).sli == 0.0  # (10 - 10) / 10


def test_zero_traffic_is_no_data_never_perfect() -> None:
    result = EventCounts(0, 0).sli
    assert isinstance(result, NoData)
    assert not isinstance(result, float)  # in particular not 1.0
    assert "no events" in result.reason
    assert EventCounts.from_bad(0, 0).sli is NO_TRAFFIC
    assert EventCounts(0, 0).error_ratio is NO_TRAFFIC


def test_counts_accept_prometheus_float_increases() -> None:
    # 2.5 good of 10.0 -> 0.25; bad = 10.0 - 2.5 = 7.5 -> 7.5 / 10 = 0.75
    counts = EventCounts(2.5, 10.0)
    assert counts.sli == 0.25
    assert counts.bad == 7.5
    assert counts.error_ratio == 0.75


def test_error_ratio_is_bad_over_total() -> None:
    # 1 bad of 1000 -> 1 / 1000 = 0.001 exactly (not 1 - 0.999 = 0.0010000000000000009)
    assert EventCounts(999, 1000).error_ratio == 0.001
    assert EventCounts.from_bad(1, 1000).error_ratio == 0.001


@pytest.mark.parametrize(
    ("good", "total", "message"),
    [
        (11, 10, r"good \(11\) cannot exceed total \(10\)"),
        (-1, 10, "good must not be negative"),
        (0, -1, "total must not be negative"),
        (math.nan, 10, "good must be finite"),
        (1, math.inf, "total must be finite"),
        (True, 10, "good must be a number"),
    ],
)
def test_sli_rejects_invalid_counts(good: float, total: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EventCounts(good, total)


@pytest.mark.parametrize(
    ("bad", "total", "message"),
    [
        (11, 10, r"bad \(11\) cannot exceed total \(10\)"),
        (-1, 10, "bad must not be negative"),
        (1, -5, "total must not be negative"),
    ],
)
def test_sli_from_bad_rejects_invalid_counts(bad: float, total: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EventCounts.from_bad(bad, total)


@given(st.integers(min_value=1, max_value=10**12), st.data())
def test_sli_and_error_ratio_add_up_to_one(total: int, data: st.DataObject) -> None:
    good = data.draw(st.integers(min_value=0, max_value=total))
    counts = EventCounts(good, total)
    ratio, errors = counts.sli, counts.error_ratio
    assert not isinstance(ratio, NoData)
    assert not isinstance(errors, NoData)
    assert 0.0 <= ratio <= 1.0
    assert ratio + errors == pytest.approx(1.0)


# ---------------------------------------------------------------------------- objective


@pytest.mark.parametrize(
    ("percent", "budget"),
    [
        (99.9, 0.001),  # 1 - 99.9 / 100 = 0.001
        (99.0, 0.01),  # 1 - 0.99
        (99.95, 0.0005),  # 1 - 0.9995
        (99.99, 0.0001),  # 1 - 0.9999
        (95, 0.05),  # 1 - 0.95, integer input
    ],
)
def test_error_budget_is_exact_decimal(percent: float, budget: float) -> None:
    # Exact equality on purpose: the float shortcut gives 0.0010000000000000009 for 99.9.
    assert Objective(percent).error_budget == budget


def test_objective_ratio() -> None:
    assert Objective(99.9).ratio == pytest.approx(0.999)  # 99.9 / 100


@pytest.mark.parametrize("percent", [0, 100, -1, 100.5, math.nan, math.inf])
def test_objective_must_be_strictly_between_0_and_100(percent: float) -> None:
    with pytest.raises(ValueError, match="objective"):
        Objective(percent)


# ---------------------------------------------------------------------------- budget


@pytest.mark.parametrize(
    ("percent", "period", "minutes"),
    [
        (99.9, 30 * D, 43.2),  # 0.001 * 30 * 1440 = 0.001 * 43200 min = 43.2 min
        (99.9, 28 * D, 40.32),  # 0.001 * 40320 min = 40.32 min
        (99.5, 7 * D, 50.4),  # 0.005 * 10080 min = 50.4 min
        (99.99, 30 * D, 4.32),  # 0.0001 * 43200 min = 4.32 min
        (99.0, 1 * D, 14.4),  # 0.01 * 1440 min = 14.4 min
    ],
)
def test_budget_minutes(percent: float, period: timedelta, minutes: float) -> None:
    assert budget_minutes(Objective(percent), period) == pytest.approx(minutes)


def test_budget_minutes_rejects_empty_period() -> None:
    with pytest.raises(ValueError, match="period must be a positive duration"):
        budget_minutes(Objective(99.9), timedelta())


def test_budget_half_consumed() -> None:
    # 500 bad of 1 000 000 -> error ratio 0.0005; consumed 0.0005 / 0.001 = 0.5
    errors = EventCounts(999_500, 1_000_000).error_ratio
    status = budget_status(errors, Objective(99.9), 30 * D)
    assert isinstance(status, BudgetStatus)
    assert status.consumed == pytest.approx(0.5)
    assert status.remaining == pytest.approx(0.5)  # 1 - 0.5
    assert status.total_minutes == pytest.approx(43.2)  # 0.001 * 43200
    assert status.consumed_minutes == pytest.approx(21.6)  # 0.5 * 43.2
    assert status.remaining_minutes == pytest.approx(21.6)  # 0.5 * 43.2
    assert not status.exhausted


def test_budget_overspent_keeps_the_real_number() -> None:
    # error ratio 0.0025 -> consumed 0.0025 / 0.001 = 2.5 -> remaining 1 - 2.5 = -1.5
    status = budget_status(0.0025, Objective(99.9), 30 * D)
    assert isinstance(status, BudgetStatus)
    assert status.consumed == pytest.approx(2.5)
    assert status.remaining == pytest.approx(-1.5)
    assert status.remaining_minutes == pytest.approx(-64.8)  # -1.5 * 43.2
    assert status.exhausted


def test_budget_spent_exactly_is_exhausted() -> None:
    # error ratio 0.001 = budget -> consumed 1, remaining 0
    status = budget_status(0.001, Objective(99.9), 30 * D)
    assert isinstance(status, BudgetStatus)
    assert status.remaining == 0.0
    assert status.exhausted


def test_budget_status_without_traffic_is_no_data() -> None:
    assert budget_status(EventCounts(0, 0).error_ratio, Objective(99.9), 30 * D) is NO_TRAFFIC


def test_budget_status_rejects_impossible_error_ratio() -> None:
    with pytest.raises(ValueError, match="error ratio must be between 0 and 1"):
        budget_status(1.5, Objective(99.9), 30 * D)


@pytest.mark.parametrize(
    ("bad", "total", "percent", "period", "remaining", "remaining_minutes"),
    [
        # 99.9 %, 30d: budget 0.001 * 43200 min = 43.2 min. 250 bad of 1e6 = 0.00025 error
        # ratio -> consumed 0.25 -> 0.75 left = 32.4 min.
        (250, 1_000_000, 99.9, 30 * D, 0.75, 32.4),
        # 99 %, 28d: budget 0.01 * 40320 min = 403.2 min. 80 bad of 10000 = 0.008 -> consumed
        # 0.8 -> 0.2 left = 80.64 min.
        (80, 10_000, 99.0, 28 * D, 0.2, 80.64),
        # 99.5 %, 7d: budget 0.005 * 10080 min = 50.4 min. 30 bad of 2000 = 0.015 -> consumed 3
        # -> -2 left = -100.8 min (overspent by twice the budget).
        (30, 2_000, 99.5, 7 * D, -2.0, -100.8),
        # 99.95 %, 30d: budget 0.0005 * 43200 = 21.6 min. No errors -> all of it left.
        (0, 5_000, 99.95, 30 * D, 1.0, 21.6),
    ],
)
def test_remaining_budget_from_counts(
    bad: int,
    total: int,
    percent: float,
    period: timedelta,
    remaining: float,
    remaining_minutes: float,
) -> None:
    ratio = EventCounts.from_bad(bad, total).error_ratio
    status = budget_status(ratio, Objective(percent), period)
    assert isinstance(status, BudgetStatus)
    assert status.remaining == pytest.approx(remaining)
    assert status.remaining_minutes == pytest.approx(remaining_minutes)


@given(objectives, periods)
def test_burn_rate_one_for_the_whole_period_spends_exactly_the_budget(
    objective: Objective, period: timedelta
) -> None:
    # Errors at exactly the budget rate: burn = budget / budget = 1.
    assert burn_rate(objective.error_budget, objective) == 1.0
    status = budget_status(objective.error_budget, objective, period)
    assert isinstance(status, BudgetStatus)
    assert status.consumed == 1.0
    assert status.remaining == 0.0
    assert status.consumed_minutes == budget_minutes(objective, period)
    # Seen from the start of the period: burn 1 for the whole period leaves nothing...
    assert forecast_remaining(1.0, 1.0, period, horizon=period) == 0.0
    # ...and the full budget lasts exactly one period.
    assert time_to_exhaustion(1.0, 1.0, period) == period


# ---------------------------------------------------------------------------- burn rate


@pytest.mark.parametrize(
    ("errors", "percent", "expected"),
    [
        (0.001, 99.9, 1.0),  # 0.001 / 0.001
        (0.0144, 99.9, 14.4),  # 0.0144 / 0.001
        (0.0, 99.9, 0.0),  # 0 / 0.001
        (0.05, 99.0, 5.0),  # 0.05 / 0.01
        (1.0, 99.9, 1000.0),  # total outage: 1 / 0.001
    ],
)
def test_burn_rate(errors: float, percent: float, expected: float) -> None:
    assert burn_rate(errors, Objective(percent)) == pytest.approx(expected)


def test_burn_rate_without_data_stays_no_data() -> None:
    marker = NoData("scrape failed")
    assert burn_rate(marker, Objective(99.9)) is marker


@pytest.mark.parametrize("errors", [-0.1, 1.01, math.nan])
def test_burn_rate_rejects_invalid_error_ratio(errors: float) -> None:
    with pytest.raises(ValueError, match="error ratio"):
        burn_rate(errors, Objective(99.9))


# ---------------------------------------------------------------------------- exhaustion


@pytest.mark.parametrize(
    ("remaining", "burn", "period", "expected"),
    [
        (1.0, 1.0, 30 * D, 30 * D),  # 1 * 30d / 1
        (0.5, 2.0, 30 * D, timedelta(days=7, hours=12)),  # 0.5 * 30d / 2 = 7.5d
        (0.2, 14.4, 30 * D, 10 * H),  # 0.2 * 720h / 14.4 = 144h / 14.4 = 10h
        (0.25, 0.5, 28 * D, 14 * D),  # 0.25 * 28d / 0.5 = 14d
    ],
)
def test_time_to_exhaustion(
    remaining: float, burn: float, period: timedelta, expected: timedelta
) -> None:
    result = time_to_exhaustion(remaining, burn, period)
    assert isinstance(result, timedelta)
    assert abs(result - expected) < timedelta(milliseconds=1)


def test_time_to_exhaustion_zero_burn_is_never() -> None:
    assert time_to_exhaustion(0.7, 0.0, 30 * D) is None


def test_time_to_exhaustion_too_far_to_represent_is_never() -> None:
    # 1 * 30d / 1e-300 is far beyond timedelta.max (~2.7 million years)
    assert time_to_exhaustion(1.0, 1e-300, 30 * D) is None


@pytest.mark.parametrize(
    ("remaining", "burn"),
    [(0.0, 5.0), (-0.3, 2.0), (-0.3, 0.0), (0.0, NO_TRAFFIC), (-1.0, NO_TRAFFIC)],
)
def test_time_to_exhaustion_when_already_exhausted_is_zero(
    remaining: float, burn: float | NoData
) -> None:
    # A spent budget is exhausted even when no traffic flows right now (burn unknown).
    assert time_to_exhaustion(remaining, burn, 30 * D) == timedelta()


def test_time_to_exhaustion_without_data() -> None:
    assert time_to_exhaustion(0.5, NO_TRAFFIC, 30 * D) is NO_TRAFFIC


def test_time_to_exhaustion_rejects_negative_burn() -> None:
    with pytest.raises(ValueError, match="burn rate must not be negative"):
        time_to_exhaustion(0.5, -1.0, 30 * D)


# ---------------------------------------------------------------------------- forecast


@pytest.mark.parametrize(
    ("remaining", "burn", "period", "horizon", "expected"),
    [
        (0.8, 3.0, 30 * D, 24 * H, 0.7),  # 0.8 - 3 * 1/30 = 0.8 - 0.1
        (0.5, 14.4, 30 * D, 24 * H, 0.02),  # 0.5 - 14.4/30 = 0.5 - 0.48
        (0.5, 14.4, 30 * D, 6 * H, 0.38),  # 0.5 - 14.4 * 6/720 = 0.5 - 0.12
        (1.0, 1.0, 28 * D, 24 * H, 27 / 28),  # 1 - 1/28
        (0.1, 6.0, 30 * D, 24 * H, -0.1),  # 0.1 - 6/30 = 0.1 - 0.2, overspent by then
        (0.4, 0.0, 30 * D, 24 * H, 0.4),  # no burn, no change
    ],
)
def test_forecast_remaining(
    remaining: float, burn: float, period: timedelta, horizon: timedelta, expected: float
) -> None:
    assert forecast_remaining(remaining, burn, period, horizon) == pytest.approx(expected)


def test_forecast_defaults_to_24_hours() -> None:
    # 0.9 - 3 * 24h/720h = 0.9 - 0.1 = 0.8
    assert forecast_remaining(0.9, 3.0, 30 * D) == pytest.approx(0.8)


def test_forecast_without_data() -> None:
    assert forecast_remaining(0.9, NO_TRAFFIC, 30 * D) is NO_TRAFFIC


def test_forecast_rejects_empty_horizon() -> None:
    with pytest.raises(ValueError, match="horizon must be a positive duration"):
        forecast_remaining(0.9, 1.0, 30 * D, timedelta())


@given(remainings, burns, burns, periods)
def test_forecast_is_monotone_in_burn_rate(
    remaining: float, slower: float, faster: float, period: timedelta
) -> None:
    slower, faster = sorted((slower, faster))
    at_slower = forecast_remaining(remaining, slower, period)
    at_faster = forecast_remaining(remaining, faster, period)
    assert isinstance(at_slower, float)
    assert isinstance(at_faster, float)
    assert at_faster <= at_slower <= remaining


@given(st.floats(min_value=0.001, max_value=1.0), st.floats(min_value=0.01, max_value=100.0))
def test_exhaustion_and_forecast_agree(remaining: float, burn: float) -> None:
    # Forecasting exactly to the exhaustion time must land at (about) zero budget left.
    period = 30 * D
    horizon = time_to_exhaustion(remaining, burn, period)
    assert isinstance(horizon, timedelta)
    left = forecast_remaining(remaining, burn, period, horizon)
    assert left == pytest.approx(0.0, abs=1e-9)


def test_error_ratio_of_plain_counts() -> None:
    # (1000 - 999) / 1000 = 0.001; (43,193,000 - 43,137,867) / 43,193,000 = 55,133 / 43,193,000
    assert error_ratio(999, 1000) == 0.001
    assert error_ratio(43_137_867, 43_193_000) == 55_133 / 43_193_000
    assert error_ratio(0, 0) is NO_TRAFFIC


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**12))
def test_error_ratio_is_that_of_event_counts(a: int, b: int) -> None:
    good, total = min(a, b), max(a, b)
    assert error_ratio(good, total) == EventCounts(good, total).error_ratio
