"""The suggested risk, the change failure rate and the verification verdicts, with numbers
worked out by hand."""

from __future__ import annotations

import pytest

from opsloop.changes.impact_rules import (
    RiskInputs,
    Verdict,
    VerifyPolicy,
    burn_rate,
    change_failure_rate,
    judge_slo,
    overall,
    suggest_risk,
)
from opsloop.changes.rules import RiskLevel


def test_nothing_going_on_is_low() -> None:
    assert suggest_risk(RiskInputs())[0] == RiskLevel.low
    assert suggest_risk(RiskInputs(lowest_budget=0.5, change_failure_rate=0.3))[0] == RiskLevel.low


@pytest.mark.parametrize(
    "inputs",
    [
        RiskInputs(gate_blocks=True),
        RiskInputs(open_incident_severities=("SEV2",)),
        RiskInputs(open_incident_severities=("SEV1", "SEV4")),
        RiskInputs(change_failure_rate=0.31),  # 4 of 13 finished: 30.8 %
        RiskInputs(freezes=1),
    ],
)
def test_high_when_the_gate_blocks_a_severe_incident_a_high_cfr_or_a_freeze(
    inputs: RiskInputs,
) -> None:
    assert suggest_risk(inputs)[0] == RiskLevel.high


@pytest.mark.parametrize(
    "inputs",
    [
        RiskInputs(lowest_budget=0.499),
        RiskInputs(firing_alerts=2),
        RiskInputs(overlapping_changes=1),
        RiskInputs(open_incident_severities=("SEV3",)),
    ],
)
def test_medium_when_budget_is_short_alerts_fire_or_changes_overlap(inputs: RiskInputs) -> None:
    assert suggest_risk(inputs)[0] == RiskLevel.medium


def test_reasons_name_every_condition() -> None:
    risk, reasons = suggest_risk(
        RiskInputs(freezes=1, firing_alerts=3, change_failure_rate=0.5, lowest_budget=0.2)
    )
    assert risk == RiskLevel.high
    assert reasons == (
        "change failure rate 50% over the last 90 days (> 30%)",
        "1 freeze(s) overlap the window",
        "an SLO has 20.0% of its budget left (< 50%)",
        "3 alert(s) firing on the service",
    )


def test_change_failure_rate() -> None:
    assert change_failure_rate(0, 0) is None
    assert change_failure_rate(4, 1) == 0.25
    assert change_failure_rate(10, 3) == pytest.approx(0.3)


def test_burn_rate_is_the_ratio_over_the_budget_rate() -> None:
    # 99.9 %: the budget rate is 0.001; 0.5 % errors burn it 5 times as fast.
    assert burn_rate(0.005, 0.001) == pytest.approx(5.0)
    assert burn_rate(None, 0.001) is None


def test_worse_by_more_than_the_tolerance_and_above_the_floor_fails() -> None:
    # Before 0.2 %, after 0.5 %: limit max(0.2 % * 1.5, 0.1 % * 2) = 0.3 %.
    judged = judge_slo(0.002, 0.005, 0.001)
    assert judged.verdict == Verdict.failed
    assert judged.limit == pytest.approx(0.003)
    assert judged.burn_before == pytest.approx(2.0) and judged.burn_after == pytest.approx(5.0)


def test_a_big_relative_rise_under_the_floor_passes() -> None:
    # 0.01 % to 0.05 % is five times worse but burns at 0.5x: under the floor of 0.2 %.
    assert judge_slo(0.0001, 0.0005, 0.001).verdict == Verdict.passed


def test_already_burning_fast_passes_unless_clearly_worse() -> None:
    # Before 1 % (10x), after 1.4 %: limit 1.5 %.
    assert judge_slo(0.01, 0.014, 0.001).verdict == Verdict.passed
    assert judge_slo(0.01, 0.016, 0.001).verdict == Verdict.failed


def test_no_data_before_is_judged_by_the_floor_and_none_after_is_inconclusive() -> None:
    assert judge_slo(None, 0.0019, 0.001).verdict == Verdict.passed
    assert judge_slo(None, 0.0021, 0.001).verdict == Verdict.failed
    assert judge_slo(0.001, None, 0.001).verdict == Verdict.inconclusive


def test_tolerance_and_threshold_are_configurable() -> None:
    strict = VerifyPolicy(tolerance=0.1, burn_threshold=1.0)
    # Before 0.2 %, after 0.25 %: limit max(0.22 %, 0.1 %) = 0.22 %.
    assert judge_slo(0.002, 0.0025, 0.001, strict).verdict == Verdict.failed
    assert judge_slo(0.002, 0.0025, 0.001).verdict == Verdict.passed


def test_overall_verdict() -> None:
    assert overall([Verdict.passed, Verdict.failed]) == Verdict.failed
    assert overall([Verdict.passed, Verdict.inconclusive]) == Verdict.passed
    assert overall([Verdict.inconclusive]) == Verdict.inconclusive
    assert overall([]) == Verdict.inconclusive
