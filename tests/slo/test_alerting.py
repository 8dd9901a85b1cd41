"""Hand-checked tests of the burn-rate alert table and of pending/firing (the rules' ``for:``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsloop.slo.alerting import (
    AlertEvaluation,
    AlertMemory,
    advance,
    evaluate_burn_rate_alerts,
    exceeds,
    highest_severity,
)
from opsloop.slo.math import NO_TRAFFIC, NoData
from opsloop.slo.windows import ALERT_WINDOWS, DEFAULT_ALERT_WINDOWS, BurnRateAlertWindow

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
burns = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False)


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
    no_burn = dict.fromkeys(ALERT_WINDOWS, 0.0)
    assert evaluate_burn_rate_alerts(no_burn, 30 * D).rows[row].factor == pytest.approx(factor_30d)
    assert evaluate_burn_rate_alerts(no_burn, 28 * D).rows[row].factor == pytest.approx(factor_28d)


@pytest.mark.parametrize(
    ("period", "factors"),
    [
        # 7d: 0.02 * 168h/1h = 3.36, 0.05 * 168h/6h = 1.4; the ticket rows 0.1 * 7 = 0.7 and
        # 0.1 * 7/3 = 0.233 are clamped to 1.
        (7 * D, (3.36, 1.4, 1.0, 1.0)),
        # 14d: 6.72, 2.8, 1.4, 0.467 -> 1.
        (14 * D, (6.72, 2.8, 1.4, 1.0)),
        # 90d: 43.2, 18, 9, 3 (nothing to clamp).
        (90 * D, (43.2, 18.0, 9.0, 3.0)),
    ],
)
def test_factors_below_one_are_clamped_outside_the_sloth_tables(
    period: timedelta, factors: tuple[float, ...]
) -> None:
    assert tuple(row.factor(period) for row in DEFAULT_ALERT_WINDOWS) == pytest.approx(factors)


def test_a_sustainable_burn_never_tickets_a_week_slo() -> None:
    # 0.5x everywhere ends the week with half the budget: no row holds. 1.2x overspends: both
    # ticket rows hold (1.2 > 1), the page rows (3.36, 1.4) do not.
    assert _holding(evaluate_burn_rate_alerts(dict.fromkeys(ALERT_WINDOWS, 0.5), 7 * D)) == []
    assert _holding(evaluate_burn_rate_alerts(dict.fromkeys(ALERT_WINDOWS, 1.2), 7 * D)) == [2, 3]


def test_alert_windows_are_deduplicated_and_sorted() -> None:
    # 6h is both row 2's long window and row 4's short window: listed once.
    assert ALERT_WINDOWS == (5 * M, 30 * M, 1 * H, 2 * H, 6 * H, 1 * D, 3 * D)


def _burns(**overrides: float | NoData | None) -> dict[timedelta, float | NoData | None]:
    """Burn rate 0 in every default window, with overrides like ``h1=15``."""
    names = {"m5": 5 * M, "m30": 30 * M, "h1": H, "h2": 2 * H, "h6": 6 * H, "d1": D, "d3": 3 * D}
    rates: dict[timedelta, float | NoData | None] = dict.fromkeys(names.values(), 0.0)
    for name, value in overrides.items():
        rates[names[name]] = value
    return rates


def _holding(evaluation: AlertEvaluation) -> list[int]:
    """Rows whose condition holds (what Prometheus shows as pending or firing)."""
    return [index for index, row in enumerate(evaluation.rows) if row.condition]


def _severity(evaluation: AlertEvaluation, at: datetime = NOW) -> str | None:
    """The highest severity firing once the conditions have held past every ``for:``."""
    long_ago = AlertMemory("pending", at - timedelta(days=1))
    return highest_severity(advance(row, long_ago, at, 15 * M) for row in evaluation.rows)


def test_nothing_fires_without_burn() -> None:
    evaluation = evaluate_burn_rate_alerts(_burns(), 30 * D)
    assert _holding(evaluation) == []
    assert _severity(evaluation) is None
    assert [row.severity for row in evaluation.rows] == ["page", "page", "ticket", "ticket"]


def test_fast_burn_pages_and_reports_values() -> None:
    # 1h burn 15 > 14.4 and 5m burn 20 > 14.4
    evaluation = evaluate_burn_rate_alerts(_burns(h1=15.0, m5=20.0), 30 * D)
    assert _holding(evaluation) == [0]
    row = evaluation.rows[0]
    assert (row.severity, row.long_burn, row.short_burn) == ("page", 15.0, 20.0)
    assert row.factor == pytest.approx(14.4)
    assert row.condition is True
    assert _severity(evaluation) == "page"


def test_long_window_alone_does_not_fire() -> None:
    # 1h burn 20 but the last 5m are clean (1.0 < 14.4): the incident is over.
    assert _holding(evaluate_burn_rate_alerts(_burns(h1=20.0, m5=1.0), 30 * D)) == []


def test_short_window_alone_does_not_fire() -> None:
    # 5m spike of 50 but the hour is at 2 (< 14.4): not enough budget spent to page.
    assert _holding(evaluate_burn_rate_alerts(_burns(h1=2.0, m5=50.0), 30 * D)) == []


def test_burn_exactly_at_factor_does_not_fire_and_just_above_does() -> None:
    # Strict > as in the rules (ratio > factor * budget): 14.4 is not above 14.4; 14.41 is.
    assert _holding(evaluate_burn_rate_alerts(_burns(h1=14.4, m5=14.4), 30 * D)) == []
    assert _holding(evaluate_burn_rate_alerts(_burns(h1=14.41, m5=14.41), 30 * D)) == [0]


def test_exact_factor_does_not_fire_whichever_way_it_rounds() -> None:
    # 28d, 6h row: 0.05 * 672h / 6h = 5.6, computed as 5.6000000000000005 in floats.
    evaluation = evaluate_burn_rate_alerts(_burns(h6=5.6, m30=5.6), 28 * D)
    assert evaluation.rows[1].factor > 5.6
    assert _holding(evaluation) == []
    # A burn computed a few ulps above its factor is still "equal": 0.41 % errors against a
    # 0.1 % budget is 4.1x, computed as 4.1000000000000005.
    burn = 0.0041 / 0.001
    assert burn > 4.1
    assert not exceeds(burn, 4.1)
    assert exceeds(4.1 * (1 + 1e-6), 4.1)


def test_ticket_only() -> None:
    # 1d burn 3.5 > 3 and 2h burn 4 > 3; 3d window clean -> only row 3 fires
    evaluation = evaluate_burn_rate_alerts(_burns(d1=3.5, h2=4.0), 30 * D)
    assert _holding(evaluation) == [2]
    assert _severity(evaluation) == "ticket"


def test_page_outranks_ticket() -> None:
    # Sustained burn of 7 everywhere: rows 2 (> 6), 3 (> 3), 4 (> 1) fire; 7 < 14.4.
    rates = dict.fromkeys(ALERT_WINDOWS, 7.0)
    evaluation = evaluate_burn_rate_alerts(rates, 30 * D)
    assert _holding(evaluation) == [1, 2, 3]
    assert _severity(evaluation) == "page"


def test_28_day_period_uses_lower_factors() -> None:
    # Burn 14 everywhere: below 14.4 (30d) but above 13.44 (28d).
    rates = dict.fromkeys(ALERT_WINDOWS, 14.0)
    assert _holding(evaluate_burn_rate_alerts(rates, 30 * D)) == [1, 2, 3]
    assert _holding(evaluate_burn_rate_alerts(rates, 28 * D)) == [0, 1, 2, 3]


@pytest.mark.parametrize("missing", [None, NO_TRAFFIC])
def test_missing_short_window_leaves_the_condition_unknown(missing: NoData | None) -> None:
    evaluation = evaluate_burn_rate_alerts(_burns(h1=100.0, m5=missing), 30 * D)
    row = evaluation.rows[0]
    assert row.condition is None
    assert isinstance(row.short_burn, NoData)
    assert row.long_burn == 100.0
    if missing is not None:
        assert row.short_burn is missing


def test_absent_window_key_is_no_data() -> None:
    rates = _burns(h1=100.0, m5=100.0)
    del rates[H]
    row = evaluate_burn_rate_alerts(rates, 30 * D).rows[0]
    assert row.condition is None
    assert isinstance(row.long_burn, NoData)
    assert "1:00:00" in row.long_burn.reason


def test_missing_data_in_one_row_does_not_silence_others() -> None:
    rates = _burns(h1=100.0, m5=None, h6=10.0, m30=10.0)
    assert _holding(evaluate_burn_rate_alerts(rates, 30 * D)) == [1]


def test_negative_burn_rate_is_rejected() -> None:
    with pytest.raises(ValueError, match="burn rate for the 1:00:00 window"):
        evaluate_burn_rate_alerts(_burns(h1=-1.0), 30 * D)


def test_custom_table() -> None:
    table = [BurnRateAlertWindow("ticket", 0.5, 7 * D, 1 * D)]
    # factor = 0.5 * 28d/7d = 2; 7d burn 2.5 and 1d burn 3 -> fires
    rates = {7 * D: 2.5, 1 * D: 3.0}
    evaluation = evaluate_burn_rate_alerts(rates, 28 * D, table)
    assert evaluation.rows[0].factor == pytest.approx(2.0)
    assert _severity(evaluation) == "ticket"


@given(burns, burns, burns, burns)
def test_row_holds_exactly_when_both_windows_exceed_the_factor(
    long_burn: float, short_burn: float, more_long: float, more_short: float
) -> None:
    table = [BurnRateAlertWindow("page", 0.02, H, 5 * M)]
    first = evaluate_burn_rate_alerts({H: long_burn, 5 * M: short_burn}, 30 * D, table)
    weakest = min(long_burn, short_burn)
    if weakest >= 14.4 * (1 + 1e-6):
        assert first.rows[0].condition
    if weakest <= 14.4 * (1 + 1e-10):
        assert not first.rows[0].condition
    # Burning faster in either window never silences a firing row.
    faster = evaluate_burn_rate_alerts(
        {H: long_burn + more_long, 5 * M: short_burn + more_short}, 30 * D, table
    )
    assert faster.rows[0].condition or not first.rows[0].condition


# ---------------------------------------------------------------------------- pending and firing


def test_condition_holding_for_less_than_for_is_pending_then_firing() -> None:
    hot = evaluate_burn_rate_alerts(_burns(h1=20.0, m5=20.0), 30 * D).rows[0]
    first = advance(hot, None, NOW, 2 * M)
    assert (first.state, first.active_since) == ("pending", NOW)
    memory = AlertMemory(first.state, first.active_since)
    one_minute = advance(hot, memory, NOW + M, 2 * M)
    assert (one_minute.state, one_minute.active_since) == ("pending", NOW)
    two_minutes = advance(hot, memory, NOW + 2 * M, 2 * M)  # held for exactly the 2m "for"
    assert (two_minutes.state, two_minutes.active_since) == ("firing", NOW)


def test_condition_ending_while_pending_never_fires() -> None:
    hot = evaluate_burn_rate_alerts(_burns(h1=20.0, m5=20.0), 30 * D).rows[0]
    cold = evaluate_burn_rate_alerts(_burns(h1=20.0, m5=1.0), 30 * D).rows[0]
    pending = advance(hot, None, NOW, 2 * M)
    ended = advance(cold, AlertMemory(pending.state, pending.active_since), NOW + M, 2 * M)
    assert (ended.state, ended.active_since) == ("inactive", None)
    again = advance(hot, AlertMemory("inactive"), NOW + 2 * M, 2 * M)
    assert (again.state, again.active_since) == ("pending", NOW + 2 * M)  # the hold restarts


def test_missing_data_keeps_the_last_state_as_stale() -> None:
    unknown = evaluate_burn_rate_alerts(_burns(h1=NO_TRAFFIC, m5=NO_TRAFFIC), 30 * D).rows[0]
    assert unknown.condition is None
    kept = advance(unknown, AlertMemory("firing", NOW - H), NOW, 2 * M)
    assert (kept.state, kept.active_since, kept.stale) == ("firing", NOW - H, True)
    never = advance(unknown, None, NOW, 2 * M)
    assert (never.state, never.stale) == ("inactive", True)


def test_zero_hold_fires_at_once() -> None:
    hot = evaluate_burn_rate_alerts(_burns(h1=20.0, m5=20.0), 30 * D).rows[0]
    assert advance(hot, None, NOW, timedelta()).state == "firing"
