"""An SLO's status at one instant, from measured error ratios: pure, no I/O.

Both sources (pushed counts and Prometheus) reduce to the same input, the error ratio per
window, so everything a user sees — budget, burn rates, exhaustion, forecast, alerts, policy —
is computed here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opsloop.slo.alerting import (
    ALERT_STATES,
    AlertMemory,
    AlertRowState,
    AlertState,
    advance,
    evaluate_burn_rate_alerts,
    highest_severity,
)
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
from opsloop.slo.windows import ALERT_FOR, ALERT_WINDOWS, format_duration

#: The burn rate that "now" means for time to exhaustion and the 24 h forecast.
CURRENT_BURN_WINDOW = timedelta(hours=1)
assert CURRENT_BURN_WINDOW in ALERT_WINDOWS  # to_json takes it from the windows' burn rates
FORECAST_HORIZON = timedelta(hours=24)

Ratio = float | NoData


def budget_window(defn: SLODefinition, now: datetime, period_started_at: datetime) -> PeriodWindow:
    """The span whose errors count against the budget right now.

    Rolling windows look back one period, but never before the last budget reset; calendar
    windows start at the period's calendar start in the SLO's time zone.
    """
    window = defn.window
    now = now.astimezone(UTC)  # a rolling period is real elapsed time, not wall-clock days
    if isinstance(window, CalendarWindow):
        current = calendar_window(now, window.unit, window.time_zone, window.start)
        start = max(current.start, period_started_at)
        return PeriodWindow(start=start, end=max(now, start + timedelta(microseconds=1)))
    start = max(now - window.duration, period_started_at)
    return PeriodWindow(start=start, end=max(now, start + timedelta(microseconds=1)))


def oldest_counted(defn: SLODefinition, now: datetime) -> datetime:
    """The oldest instant whose events still count somewhere: in the budget (a calendar period
    can be 31 or 92 days, longer than its nominal 30d or 90d) or in an alert window."""
    start = now - defn.period
    window = defn.window
    if isinstance(window, CalendarWindow):
        current = calendar_window(now, window.unit, window.time_zone, window.start)
        start = min(start, current.start)
    return start


def budget_epoch(
    defn: SLODefinition, period: PeriodWindow, period_started_at: datetime
) -> datetime:
    """When the current budget began: the calendar period's start, or the last reset."""
    if isinstance(defn.window, CalendarWindow):
        return period.start
    return period_started_at


def period_length(defn: SLODefinition, now: datetime) -> timedelta:
    """The budget's full length: the rolling duration, or this calendar period's real length."""
    window = defn.window
    if isinstance(window, CalendarWindow):
        return calendar_window(now, window.unit, window.time_zone, window.start).length
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
    alerts: tuple[AlertRowState, ...]
    budget: BudgetStatus | NoData
    counts: tuple[int, int] | None = None
    #: The start of the budget as last reset (rolling) or of the calendar period: a policy state
    #: is only carried over missing data within the same budget.
    budget_epoch: datetime | None = None
    #: The policy state is the last known one, kept because the budget cannot be measured.
    policy_stale: bool = False
    #: The last evaluation that could measure the budget (``None``: never).
    last_data_at: datetime | None = None
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
    def alert_severity(self) -> str | None:
        return highest_severity(self.alerts)

    @property
    def time_to_exhaustion(self) -> timedelta | NoData | None:
        return self._exhaustion_at(self.current_burn)

    @property
    def forecast(self) -> Ratio:
        return self._forecast_at(self.current_burn)

    def _exhaustion_at(self, current_burn: Ratio) -> timedelta | NoData | None:
        if isinstance(self.budget, NoData):
            return self.budget
        return time_to_exhaustion(self.budget.remaining, current_burn, self.period_length)

    def _forecast_at(self, current_burn: Ratio) -> Ratio:
        if isinstance(self.budget, NoData):
            return self.budget
        return forecast_remaining(
            self.budget.remaining, current_burn, self.period_length, FORECAST_HORIZON
        )

    def to_json(self) -> dict[str, Any]:
        budget = self.budget
        # Each burn rate once (the current one is among them): a thousand SLOs a minute.
        burns = {w: self.burn(w) for w in ALERT_WINDOWS}
        current = burns[CURRENT_BURN_WINDOW]
        exhaustion = self._exhaustion_at(current)
        reason = self.no_data_reason
        return {
            "evaluated_at": self.evaluated_at.isoformat(),
            "status": "no_data" if reason else "ok",
            "no_data_reason": reason,
            "no_data_since": _iso(self.last_data_at) if reason else None,
            "last_data_at": _iso(self.last_data_at),
            "budget_epoch": _iso(self.budget_epoch),
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
                **{_WINDOW_NAMES[w]: _num(burn) for w, burn in burns.items()},
                "period": _num(burn_rate(self.period_error_ratio, self.objective)),
            },
            "time_to_exhaustion_seconds": exhaustion.total_seconds()
            if isinstance(exhaustion, timedelta)
            else None,
            "exhaustion": _exhaustion_word(exhaustion),
            "forecast_24h_remaining": _num(self._forecast_at(current)),
            "alerts": [_alert_json(row) for row in self.alerts],
            "alert_severity": self.alert_severity,
            "policy": {
                "state": self.policy.state,
                "action": self.policy.action,
                "approver": self.policy.approver,
                "blocks_changes": self.policy.blocks_changes,
                "stale": self.policy_stale,
            },
            **self.extra,
        }


_WINDOW_NAMES = {w: format_duration(w) for w in ALERT_WINDOWS}


def alert_key(severity: str, long_window: timedelta) -> str:
    return f"{severity}-{format_duration(long_window)}"


def _alert_json(row: AlertRowState) -> dict[str, Any]:
    result = row.result
    return {
        "alert": alert_key(result.window.severity, result.window.long_window),
        "severity": result.severity,
        "factor": result.factor,
        "long_window": format_duration(result.window.long_window),
        "short_window": format_duration(result.window.short_window),
        "long_burn": _num(result.long_burn),
        "short_burn": _num(result.short_burn),
        "condition": result.condition,
        "state": row.state,
        "active_since": _iso(row.active_since),
        "for": format_duration(row.hold),
        "stale": row.stale,
        "firing": row.state == "firing",
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _memories(previous: Mapping[str, Any] | None) -> dict[str, AlertMemory]:
    out: dict[str, AlertMemory] = {}
    for alert in (previous or {}).get("alerts", []):
        # Results stored before pending existed only say firing or not.
        legacy: AlertState = "firing" if alert.get("firing") else "inactive"
        state = next((s for s in ALERT_STATES if s == alert.get("state")), legacy)
        since = _parse_time(alert.get("active_since"))
        if state != "inactive" and since is None:
            since = _parse_time((previous or {}).get("evaluated_at"))
        out[alert["alert"]] = AlertMemory(state, since)
    return out


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
    previous: Mapping[str, Any] | None = None,
    budget_epoch: datetime | None = None,
) -> SLOStatus:
    """The status at ``now``; ``previous`` is the last stored result (``to_json``), which carries
    pending alerts towards firing and keeps the last known states while data is missing."""
    objective = Objective(defn.objective)
    length = period_length(defn, now)
    budget = budget_status(period_error_ratio, objective, length)
    burns = {w: burn_rate(r, objective) for w, r in error_ratios.items()}
    memories = _memories(previous)
    alerts = []
    for row in evaluate_burn_rate_alerts(burns, defn.period).rows:
        before = memories.get(alert_key(row.severity, row.window.long_window))
        alerts.append(advance(row, before, now, ALERT_FOR[row.severity]))
    remaining: float | NoData = budget if isinstance(budget, NoData) else budget.remaining
    decision = policy.decide(remaining)
    kept = _kept_policy(policy, previous, budget_epoch) if isinstance(budget, NoData) else None
    if isinstance(budget, NoData):
        last_data_at = _parse_time((previous or {}).get("last_data_at"))
    else:
        last_data_at = now
    return SLOStatus(
        evaluated_at=now,
        objective=objective,
        period=period,
        period_length=length,
        error_ratios=dict(error_ratios),
        period_error_ratio=period_error_ratio,
        policy=kept or decision,
        alerts=tuple(alerts),
        budget=budget,
        counts=counts,
        budget_epoch=budget_epoch,
        policy_stale=kept is not None,
        last_data_at=last_data_at,
    )


def _kept_policy(
    policy: ErrorBudgetPolicy, previous: Mapping[str, Any] | None, budget_epoch: datetime | None
) -> PolicyDecision | None:
    """The last known policy state, while the budget of the same period cannot be measured.

    An outage of the SLI source must never lift a freeze; a reset or a new calendar period
    starts a new budget, whose state is unknown until data arrives.
    """
    if previous is None:
        return None
    stored_epoch = _parse_time(previous.get("budget_epoch"))
    if stored_epoch is not None and budget_epoch is not None and stored_epoch != budget_epoch:
        return None
    state = previous.get("policy", {}).get("state")
    if state not in policy.states:
        return None
    tier = policy.tier_for(state)
    return PolicyDecision(
        state=tier.state,
        action=tier.action,
        approver=tier.approver,
        blocks_changes=tier.blocks_changes,
        remaining=NoData(previous.get("no_data_reason") or "no data"),
    )
