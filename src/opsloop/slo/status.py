"""An SLO's status at one instant, from measured error ratios: pure, no I/O.

Both sources (pushed counts and Prometheus) reduce to the same input, the error ratio per
window, so everything a user sees — budget, burn rates, exhaustion, forecast, alerts, policy —
is computed here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from opsloop.slo.alerting import AlertEvaluation, evaluate_burn_rate_alerts, required_windows
from opsloop.slo.math import (
    BudgetStatus,
    NoData,
    Objective,
    budget_status,
    burn_rate,
    forecast_remaining,
    time_to_exhaustion,
)
from opsloop.slo.periods import PeriodWindow, calendar_window
from opsloop.slo.policy import ErrorBudgetPolicy, PolicyDecision
from opsloop.slo.spec import CalendarWindow, SLODefinition
from opsloop.slo.windows import format_duration as _format_duration

#: The windows evaluated besides the period: every long and short window of the alert table.
WINDOWS: tuple[timedelta, ...] = required_windows()
#: The burn rate that "now" means for time to exhaustion and the 24 h forecast.
CURRENT_BURN_WINDOW = timedelta(hours=1)
FORECAST_HORIZON = timedelta(hours=24)

Ratio = float | NoData


@lru_cache(maxsize=64)
def format_duration(value: timedelta) -> str:
    # Statuses name the same handful of windows thousands of times per evaluation.
    return _format_duration(value)


def budget_window(defn: SLODefinition, now: datetime, period_started_at: datetime) -> PeriodWindow:
    """The span whose errors count against the budget right now.

    Rolling windows look back one period, but never before the last budget reset; calendar
    windows start at the period's calendar start in the SLO's time zone.
    """
    window = defn.window
    if isinstance(window, CalendarWindow):
        current = calendar_window(now, window.unit, window.time_zone)
        start = max(current.start, period_started_at)
        return PeriodWindow(start=start, end=max(now, start + timedelta(microseconds=1)))
    start = max(now - window.duration, period_started_at)
    return PeriodWindow(start=start, end=max(now, start + timedelta(microseconds=1)))


def period_length(defn: SLODefinition, now: datetime) -> timedelta:
    """The budget's full length: the rolling duration, or this calendar period's real length."""
    window = defn.window
    if isinstance(window, CalendarWindow):
        return calendar_window(now, window.unit, window.time_zone).length
    return window.duration


@dataclass(frozen=True)
class SLOStatus:
    evaluated_at: datetime
    objective: Objective
    period: PeriodWindow
    period_length: timedelta
    error_ratios: Mapping[timedelta, Ratio]
    period_error_ratio: Ratio
    policy: PolicyDecision
    alerts: AlertEvaluation
    budget: BudgetStatus | NoData
    counts: tuple[int, int] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sli(self) -> Ratio:
        ratio = self.period_error_ratio
        return ratio if isinstance(ratio, NoData) else 1.0 - ratio

    @property
    def no_data_reason(self) -> str | None:
        return (
            self.period_error_ratio.reason if isinstance(self.period_error_ratio, NoData) else None
        )

    def burn(self, window: timedelta) -> Ratio:
        return burn_rate(self.error_ratios.get(window, NoData("not measured")), self.objective)

    @property
    def current_burn(self) -> Ratio:
        return self.burn(CURRENT_BURN_WINDOW)

    @property
    def time_to_exhaustion(self) -> timedelta | NoData | None:
        if isinstance(self.budget, NoData):
            return self.budget
        return time_to_exhaustion(self.budget.remaining, self.current_burn, self.period_length)

    @property
    def forecast(self) -> Ratio:
        if isinstance(self.budget, NoData):
            return self.budget
        return forecast_remaining(
            self.budget.remaining, self.current_burn, self.period_length, FORECAST_HORIZON
        )

    def to_json(self) -> dict[str, Any]:
        budget = self.budget
        exhaustion = self.time_to_exhaustion
        return {
            "evaluated_at": self.evaluated_at.isoformat(),
            "status": "no_data" if self.no_data_reason else "ok",
            "no_data_reason": self.no_data_reason,
            "objective": self.objective.percent,
            "period": {
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "length": format_duration(self.period_length),
            },
            "sli": _num(self.sli),
            "good": self.counts[0] if self.counts else None,
            "total": self.counts[1] if self.counts else None,
            "error_budget": self.objective.error_budget,
            "budget": None
            if isinstance(budget, NoData)
            else {
                "consumed": budget.consumed,
                "remaining": budget.remaining,
                "total_minutes": budget.total_minutes,
                "remaining_minutes": budget.remaining_minutes,
                "exhausted": budget.exhausted,
            },
            "burn_rates": {
                **{format_duration(w): _num(self.burn(w)) for w in WINDOWS},
                "period": _num(burn_rate(self.period_error_ratio, self.objective)),
            },
            "time_to_exhaustion_seconds": exhaustion.total_seconds()
            if isinstance(exhaustion, timedelta)
            else None,
            "exhaustion": _exhaustion_word(exhaustion),
            "forecast_24h_remaining": _num(self.forecast),
            "alerts": [
                {
                    "alert": alert_key(row.window.severity, row.window.long_window),
                    "severity": row.severity,
                    "factor": row.factor,
                    "long_window": format_duration(row.window.long_window),
                    "short_window": format_duration(row.window.short_window),
                    "long_burn": _num(row.long_burn),
                    "short_burn": _num(row.short_burn),
                    "firing": row.firing,
                }
                for row in self.alerts.rows
            ],
            "alert_severity": self.alerts.highest_severity,
            "policy": {
                "state": self.policy.state,
                "action": self.policy.action,
                "approver": self.policy.approver,
                "blocks_changes": self.policy.blocks_changes,
            },
            **self.extra,
        }


def alert_key(severity: str, long_window: timedelta) -> str:
    return f"{severity}-{format_duration(long_window)}"


def _num(value: float | NoData | None) -> float | None:
    return None if value is None or isinstance(value, NoData) else float(value)


def _exhaustion_word(value: timedelta | NoData | None) -> str:
    if isinstance(value, NoData):
        return "no_data"
    if value is None:
        return "never"
    return "exhausted" if value <= timedelta() else "at_current_burn"


def compute_status(
    defn: SLODefinition,
    *,
    now: datetime,
    period: PeriodWindow,
    error_ratios: Mapping[timedelta, Ratio],
    period_error_ratio: Ratio,
    policy: ErrorBudgetPolicy,
    counts: tuple[int, int] | None = None,
) -> SLOStatus:
    objective = Objective(defn.objective)
    length = period_length(defn, now)
    budget = budget_status(period_error_ratio, objective, length)
    burns = {w: burn_rate(r, objective) for w, r in error_ratios.items()}
    alerts = evaluate_burn_rate_alerts(burns, defn.period)
    remaining: float | NoData = budget if isinstance(budget, NoData) else budget.remaining
    return SLOStatus(
        evaluated_at=now,
        objective=objective,
        period=period,
        period_length=length,
        error_ratios=dict(error_ratios),
        period_error_ratio=period_error_ratio,
        policy=policy.decide(remaining),
        alerts=alerts,
        budget=budget,
        counts=counts,
    )
