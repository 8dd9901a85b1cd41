"""The rules of impact assessment and verification. Pure: no clock, database or network.

Suggested risk (:func:`suggest_risk`), first match wins:

* **high** when the error-budget gate blocks changes to the service, an SEV1 or SEV2 incident
  of the service is open, the service's change failure rate for the category over the last
  90 days is above 30 %, or a freeze overlaps the window;
* **medium** when an SLO of the service has less than half its error budget left, alerts of
  the service are firing, another incident of the service is open, or other changes overlap
  the window or are under way on the service;
* **low** otherwise.

Every condition that holds is given as a reason, so a high suggestion also lists what would
make it medium.

Verification (:func:`judge_slo`): per SLO, with ``before`` and ``after`` the error ratios of
the hour before the window started and the hour after the change finished, the change
**fails** when ``after > max(before * (1 + tolerance), budget_rate * burn_threshold)``. The
first term is "clearly worse than before"; the second is a floor so that noise on a service
with almost no errors (0.001 % → 0.003 % is +200 % but harmless) does not fail a change: only
an after-hour burning the budget faster than ``burn_threshold`` times the sustainable rate
can fail it. A service already burning fast before passes unless it got clearly worse. No
events after the change is **inconclusive**; no events before is judged by the floor alone.
The change's verdict (:func:`overall`): fail if any SLO fails, pass if at least one passed
and none failed, inconclusive otherwise (no SLOs or no data).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from opsloop.changes.rules import RiskLevel

#: Change failure rate above which the suggestion is high.
CFR_HIGH = 0.30
#: Budget left below which the suggestion is at least medium.
BUDGET_MEDIUM = 0.50
HIGH_SEVERITIES = frozenset({"SEV1", "SEV2"})


@dataclass(frozen=True)
class RiskInputs:
    gate_blocks: bool = False
    open_incident_severities: tuple[str, ...] = ()
    change_failure_rate: float | None = None
    freezes: int = 0
    lowest_budget: float | None = None
    firing_alerts: int = 0
    overlapping_changes: int = 0


def change_failure_rate(finished: int, failed: int) -> float | None:
    """Failed over finished changes; None when none finished (no rate, not 0 %)."""
    if finished <= 0:
        return None
    return failed / finished


def suggest_risk(inputs: RiskInputs) -> tuple[RiskLevel, tuple[str, ...]]:
    high: list[str] = []
    medium: list[str] = []
    if inputs.gate_blocks:
        high.append("the error-budget policy blocks changes to the service")
    severe = sorted(s for s in inputs.open_incident_severities if s in HIGH_SEVERITIES)
    if severe:
        high.append(f"open {', '.join(severe)} incident(s) on the service")
    cfr = inputs.change_failure_rate
    if cfr is not None and cfr > CFR_HIGH:
        high.append(f"change failure rate {cfr * 100:.0f}% over the last 90 days (> 30%)")
    if inputs.freezes:
        high.append(f"{inputs.freezes} freeze(s) overlap the window")
    if inputs.lowest_budget is not None and inputs.lowest_budget < BUDGET_MEDIUM:
        medium.append(f"an SLO has {inputs.lowest_budget * 100:.1f}% of its budget left (< 50%)")
    if inputs.firing_alerts:
        medium.append(f"{inputs.firing_alerts} alert(s) firing on the service")
    others = len(inputs.open_incident_severities) - len(severe)
    if others:
        medium.append(f"{others} other open incident(s) on the service")
    if inputs.overlapping_changes:
        medium.append(f"{inputs.overlapping_changes} other change(s) overlap or are under way")
    if high:
        return RiskLevel.high, tuple(high + medium)
    if medium:
        return RiskLevel.medium, tuple(medium)
    return RiskLevel.low, ("no open incidents, firing alerts, freezes or overlapping changes",)


class Verdict(StrEnum):
    passed = "pass"
    failed = "fail"
    inconclusive = "inconclusive"


@dataclass(frozen=True)
class VerifyPolicy:
    """``tolerance``: how much worse than before (0.5: +50 %) is still noise; ``burn_threshold``:
    the burn rate an after-hour must exceed to fail at all."""

    tolerance: float = 0.5
    burn_threshold: float = 2.0


DEFAULT_VERIFY = VerifyPolicy()


@dataclass(frozen=True)
class SLOJudgement:
    verdict: Verdict
    burn_before: float | None
    burn_after: float | None
    limit: float | None
    reason: str


def burn_rate(ratio: float | None, budget_rate: float) -> float | None:
    if ratio is None or budget_rate <= 0:
        return None
    return ratio / budget_rate


def judge_slo(
    before: float | None,
    after: float | None,
    budget_rate: float,
    policy: VerifyPolicy = DEFAULT_VERIFY,
) -> SLOJudgement:
    burns = burn_rate(before, budget_rate), burn_rate(after, budget_rate)
    if after is None:
        return SLOJudgement(Verdict.inconclusive, *burns, None, "no events after the change")
    floor = budget_rate * policy.burn_threshold
    limit = floor if before is None else max(before * (1 + policy.tolerance), floor)
    shown = f"{after * 100:.4g}% errors after"
    if before is not None:
        shown += f" vs {before * 100:.4g}% before"
    if after > limit:
        return SLOJudgement(
            Verdict.failed, *burns, limit, f"{shown}: above the limit {limit * 100:.4g}%"
        )
    return SLOJudgement(
        Verdict.passed, *burns, limit, f"{shown}: within the limit {limit * 100:.4g}%"
    )


def overall(verdicts: Iterable[Verdict]) -> Verdict:
    seen: Sequence[Verdict] = list(verdicts)
    if Verdict.failed in seen:
        return Verdict.failed
    if Verdict.passed in seen:
        return Verdict.passed
    return Verdict.inconclusive
