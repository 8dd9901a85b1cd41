"""Hand-checked tests for opsloop's SLI, budget, burn-rate and alert arithmetic."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsloop.slo.alerting import AlertEvaluation, evaluate_burn_rate_alerts, required_windows
from opsloop.slo.math import (
    NO_TRAFFIC,
    BudgetStatus,
    EventCounts,
    NoData,
    Objective,
    budget_minutes,
    budget_status,
    burn_rate,
    forecast_remaining,
    latency_counts,
    latency_sli,
    sli,
    sli_from_bad,
    time_to_exhaustion,
)
from opsloop.slo.windows import DEFAULT_ALERT_WINDOWS, BurnRateAlertWindow

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
    assert sli(999, 1000) == 0.999


def test_sli_from_bad_and_total() -> None:
    # 1 bad of 1000 -> good = 999 -> 999 / 1000 = 0.999
    assert sli_from_bad(1, 1000) == 0.999


def test_sli_extremes() -> None:
    assert sli(0, 10) == 0.0  # 0 / 10
    assert sli(10, 10) == 1.0  # 10 / 10
    assert sli_from_bad(10, 10) == 0.0  # (10 - 10) / 10


def test_zero_traffic_is_no_data_never_perfect() -> None:
    result = sli(0, 0)
    assert isinstance(result, NoData)
    assert not isinstance(result, float)  # in particular not 1.0
    assert "no events" in result.reason
    assert sli_from_bad(0, 0) is NO_TRAFFIC
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
        sli(good, total)


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
        sli_from_bad(bad, total)


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


@given(objectives, periods, st.floats(min_value=0.0, max_value=1.0))
def test_remaining_is_one_minus_consumed(
    objective: Objective, period: timedelta, errors: float
) -> None:
    status = budget_status(errors, objective, period)
    assert isinstance(status, BudgetStatus)
    assert status.remaining == 1.0 - status.consumed
    assert status.remaining_minutes + status.consumed_minutes == pytest.approx(status.total_minutes)


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


@pytest.mark.parametrize(("remaining", "burn"), [(0.0, 5.0), (-0.3, 2.0), (-0.3, 0.0)])
def test_time_to_exhaustion_when_already_exhausted_is_zero(remaining: float, burn: float) -> None:
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


# ---------------------------------------------------------------------------- alert table


@pytest.mark.parametrize(
    ("row", "factor_30d", "factor_28d"),
    [
        (0, 14.4, 13.44),  # 2 % * 720h/1h = 14.4 ; 2 % * 672h/1h = 13.44
        (1, 6.0, 5.6),  # 5 % * 720h/6h = 6 ; 5 % * 672h/6h = 5.6
        (2, 3.0, 2.8),  # 10 % * 30d/1d = 3 ; 10 % * 28d/1d = 2.8
        (3, 1.0, 28 / 30),  # 10 % * 30d/3d = 1 ; 10 % * 28d/3d = 0.9333
    ],
)
def test_default_table_factors(row: int, factor_30d: float, factor_28d: float) -> None:
    assert DEFAULT_ALERT_WINDOWS[row].factor(30 * D) == pytest.approx(factor_30d)
    assert DEFAULT_ALERT_WINDOWS[row].factor(28 * D) == pytest.approx(factor_28d)
    no_burn = dict.fromkeys(required_windows(), 0.0)
    assert evaluate_burn_rate_alerts(no_burn, 30 * D).rows[row].factor == pytest.approx(factor_30d)
    assert evaluate_burn_rate_alerts(no_burn, 28 * D).rows[row].factor == pytest.approx(factor_28d)


def test_required_windows_are_deduplicated_and_sorted() -> None:
    # 6h is both row 2's long window and row 4's short window: listed once.
    assert required_windows() == (5 * M, 30 * M, 1 * H, 2 * H, 6 * H, 1 * D, 3 * D)


def test_required_windows_of_a_custom_table() -> None:
    table = [
        BurnRateAlertWindow("ticket", 0.1, 2 * D, 4 * H),
        BurnRateAlertWindow("page", 0.02, 1 * H, 5 * M),
    ]
    assert required_windows(table) == (5 * M, 1 * H, 4 * H, 2 * D)


def _burns(**overrides: float | NoData | None) -> dict[timedelta, float | NoData | None]:
    """Burn rate 0 in every default window, with overrides like ``h1=15``."""
    names = {"m5": 5 * M, "m30": 30 * M, "h1": H, "h2": 2 * H, "h6": 6 * H, "d1": D, "d3": 3 * D}
    rates: dict[timedelta, float | NoData | None] = dict.fromkeys(names.values(), 0.0)
    for name, value in overrides.items():
        rates[names[name]] = value
    return rates


def _firing(evaluation: AlertEvaluation) -> list[int]:
    return [index for index, row in enumerate(evaluation.rows) if row.firing]


def test_nothing_fires_without_burn() -> None:
    evaluation = evaluate_burn_rate_alerts(_burns(), 30 * D)
    assert _firing(evaluation) == []
    assert not evaluation.firing
    assert evaluation.highest_severity is None
    assert [row.severity for row in evaluation.rows] == ["page", "page", "ticket", "ticket"]


def test_fast_burn_pages_and_reports_values() -> None:
    # 1h burn 15 >= 14.4 and 5m burn 20 >= 14.4
    evaluation = evaluate_burn_rate_alerts(_burns(h1=15.0, m5=20.0), 30 * D)
    assert _firing(evaluation) == [0]
    row = evaluation.rows[0]
    assert (row.severity, row.long_burn, row.short_burn) == ("page", 15.0, 20.0)
    assert row.factor == pytest.approx(14.4)
    assert row.has_data
    assert evaluation.highest_severity == "page"
    assert evaluation.firing_rows == (row,)


def test_long_window_alone_does_not_fire() -> None:
    # 1h burn 20 but the last 5m are clean (1.0 < 14.4): the incident is over.
    assert _firing(evaluate_burn_rate_alerts(_burns(h1=20.0, m5=1.0), 30 * D)) == []


def test_short_window_alone_does_not_fire() -> None:
    # 5m spike of 50 but the hour is at 2 (< 14.4): not enough budget spent to page.
    assert _firing(evaluate_burn_rate_alerts(_burns(h1=2.0, m5=50.0), 30 * D)) == []


def test_burn_exactly_at_factor_fires_and_just_below_does_not() -> None:
    # >= comparison: 14.4 >= 14.4 fires; 14.39 < 14.4 does not
    assert _firing(evaluate_burn_rate_alerts(_burns(h1=14.4, m5=14.4), 30 * D)) == [0]
    assert _firing(evaluate_burn_rate_alerts(_burns(h1=14.39, m5=14.4), 30 * D)) == []


def test_exact_factor_fires_despite_float_rounding() -> None:
    # 28d, 6h row: 0.05 * 672h / 6h = 5.6, computed as 5.6000000000000005 in floats.
    rates = _burns(h6=5.6, m30=5.6)
    evaluation = evaluate_burn_rate_alerts(rates, 28 * D)
    assert evaluation.rows[1].factor > 5.6
    assert _firing(evaluation) == [1]


def test_ticket_only() -> None:
    # 1d burn 3.5 >= 3 and 2h burn 4 >= 3; 3d window clean -> only row 3 fires
    evaluation = evaluate_burn_rate_alerts(_burns(d1=3.5, h2=4.0), 30 * D)
    assert _firing(evaluation) == [2]
    assert evaluation.highest_severity == "ticket"


def test_page_outranks_ticket() -> None:
    # Sustained burn of 7 everywhere: rows 2 (>= 6), 3 (>= 3), 4 (>= 1) fire; 7 < 14.4.
    rates = dict.fromkeys(required_windows(), 7.0)
    evaluation = evaluate_burn_rate_alerts(rates, 30 * D)
    assert _firing(evaluation) == [1, 2, 3]
    assert evaluation.highest_severity == "page"


def test_28_day_period_uses_lower_factors() -> None:
    # Burn 14 everywhere: below 14.4 (30d) but above 13.44 (28d).
    rates = dict.fromkeys(required_windows(), 14.0)
    assert _firing(evaluate_burn_rate_alerts(rates, 30 * D)) == [1, 2, 3]
    assert _firing(evaluate_burn_rate_alerts(rates, 28 * D)) == [0, 1, 2, 3]


@pytest.mark.parametrize("missing", [None, NO_TRAFFIC])
def test_missing_short_window_does_not_fire_and_says_no_data(missing: NoData | None) -> None:
    evaluation = evaluate_burn_rate_alerts(_burns(h1=100.0, m5=missing), 30 * D)
    row = evaluation.rows[0]
    assert not row.firing
    assert not row.has_data
    assert isinstance(row.short_burn, NoData)
    assert row.long_burn == 100.0
    if missing is not None:
        assert row.short_burn is missing


def test_absent_window_key_is_no_data() -> None:
    rates = _burns(h1=100.0, m5=100.0)
    del rates[H]
    row = evaluate_burn_rate_alerts(rates, 30 * D).rows[0]
    assert not row.firing
    assert isinstance(row.long_burn, NoData)
    assert "1:00:00" in row.long_burn.reason


def test_missing_data_in_one_row_does_not_silence_others() -> None:
    rates = _burns(h1=100.0, m5=None, h6=10.0, m30=10.0)
    assert _firing(evaluate_burn_rate_alerts(rates, 30 * D)) == [1]


def test_negative_burn_rate_is_rejected() -> None:
    with pytest.raises(ValueError, match="burn rate for the 1:00:00 window"):
        evaluate_burn_rate_alerts(_burns(h1=-1.0), 30 * D)


def test_custom_table() -> None:
    table = [BurnRateAlertWindow("ticket", 0.5, 7 * D, 1 * D)]
    # factor = 0.5 * 28d/7d = 2; 7d burn 2.5 and 1d burn 3 -> fires
    rates = {7 * D: 2.5, 1 * D: 3.0}
    evaluation = evaluate_burn_rate_alerts(rates, 28 * D, table)
    assert evaluation.rows[0].factor == pytest.approx(2.0)
    assert evaluation.highest_severity == "ticket"


@given(burns, burns, burns, burns)
def test_row_fires_exactly_when_both_windows_reach_the_factor(
    long_burn: float, short_burn: float, more_long: float, more_short: float
) -> None:
    table = [BurnRateAlertWindow("page", 0.02, H, 5 * M)]
    first = evaluate_burn_rate_alerts({H: long_burn, 5 * M: short_burn}, 30 * D, table)
    weakest = min(long_burn, short_burn)
    if weakest >= 14.4 * (1 + 1e-6):
        assert first.rows[0].firing
    if weakest <= 14.4 * (1 - 1e-6):
        assert not first.rows[0].firing
    # Burning faster in either window never silences a firing row.
    faster = evaluate_burn_rate_alerts(
        {H: long_burn + more_long, 5 * M: short_burn + more_short}, 30 * D, table
    )
    assert faster.rows[0].firing or not first.rows[0].firing


# ---------------------------------------------------------------------------- latency

BUCKETS = {0.1: 800.0, 0.25: 950.0, 0.5: 990.0, 1.0: 998.0, math.inf: 1000.0}


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (0.1, 0.8),  # 800 / 1000
        (0.25, 0.95),  # 950 / 1000
        (0.5, 0.99),  # 990 / 1000
        (1.0, 0.998),  # 998 / 1000
    ],
)
def test_latency_sli_at_bucket_bounds(threshold: float, expected: float) -> None:
    assert latency_sli(BUCKETS, threshold) == expected


def test_latency_counts() -> None:
    counts = latency_counts(BUCKETS, 0.25)
    assert counts == EventCounts(950.0, 1000.0)
    assert counts.error_ratio == pytest.approx(0.05)  # 50 / 1000


def test_latency_threshold_between_bounds_is_rejected_with_bounds_listed() -> None:
    with pytest.raises(ValueError, match=r"0\.3 is not a bucket bound.*0\.1, 0\.25, 0\.5, 1$"):
        latency_sli(BUCKETS, 0.3)


def test_latency_requires_inf_bucket() -> None:
    with pytest.raises(ValueError, match=r"no \+Inf bucket"):
        latency_sli({0.1: 5.0, 0.5: 9.0}, 0.1)


def test_latency_rejects_non_cumulative_buckets() -> None:
    with pytest.raises(ValueError, match="cumulative"):
        latency_sli({0.1: 10.0, 0.5: 9.0, math.inf: 12.0}, 0.1)


def test_latency_rejects_infinite_threshold() -> None:
    with pytest.raises(ValueError, match="latency threshold must be finite"):
        latency_sli(BUCKETS, math.inf)


def test_empty_histogram_is_no_data() -> None:
    assert latency_sli({0.1: 0.0, math.inf: 0.0}, 0.1) is NO_TRAFFIC
