"""Pure SLI, error-budget and burn-rate arithmetic for opsloop.

Nothing here touches a clock, a database or the network: every function is a pure function of
its arguments, so the numbers shown on dashboards, in alerts and in policy decisions can be
reproduced by hand and tested exhaustively. Calendar and rolling window arithmetic lives in
:mod:`opsloop.slo.periods`; the budget-policy decision matrix in :mod:`opsloop.slo.policy`;
multiwindow burn-rate alert evaluation in :mod:`opsloop.slo.alerting`.

Conventions used throughout:

* ratios are floats in ``[0, 1]``; objectives are percentages such as ``99.9``;
* "consumed" and "remaining" are fractions of the period's error budget, and ``remaining`` keeps
  its real (possibly negative) value when the budget is overspent, because "how far over" is what
  a review needs;
* absence of traffic is :class:`NoData`, never a perfect score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

__all__ = [
    "NO_TRAFFIC",
    "BudgetStatus",
    "EventCounts",
    "NoData",
    "Objective",
    "budget_minutes",
    "budget_status",
    "burn_rate",
    "error_ratio",
    "forecast_remaining",
    "latency_counts",
    "latency_sli",
    "sli",
    "sli_from_bad",
    "time_to_exhaustion",
]


@dataclass(frozen=True)
class NoData:
    """Marks a value that cannot be computed because there is nothing to measure.

    A window without events says nothing about reliability. Reporting it as 100 % would hide a
    service that silently stopped receiving traffic, so callers get an explicit marker with a
    human-readable reason and must decide what to show.
    """

    reason: str


NO_TRAFFIC = NoData("no events in the window (total is 0)")

REL_TOLERANCE = 1e-9
"""Relative slack for comparing a computed ratio with a configured boundary (alert factors,
policy thresholds). Ratios are float quotients, so one that is exactly on a boundary in decimal
(0.3) may come out a few ulps to either side; within this slack it counts as on the boundary."""


# The check_* helpers are shared with opsloop.slo.alerting so both reject bad input alike.


def check_number(name: str, value: float) -> float:
    # bool is an int subclass; True/False as a count is always a caller bug.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_count(name: str, value: float) -> float:
    number = check_number(name, value)
    if number < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return number


def check_period(name: str, value: timedelta) -> timedelta:
    if value <= timedelta():
        raise ValueError(f"{name} must be a positive duration, got {value!r}")
    return value


def check_ratio(name: str, value: float) -> float:
    number = check_number(name, value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return number


# --------------------------------------------------------------------------------------------
# SLI


@dataclass(frozen=True)
class EventCounts:
    """Good and total events of one window.

    Counts are floats because counter increases read from Prometheus are floats. Keeping the raw
    counts (rather than only a ratio) lets the error ratio be computed as ``bad / total`` directly,
    which avoids the rounding of ``1 - good / total`` at high objectives.
    """

    good: float
    total: float

    def __post_init__(self) -> None:
        good = check_count("good", self.good)
        total = check_count("total", self.total)
        if good > total:
            raise ValueError(
                f"good ({self.good!r}) cannot exceed total ({self.total!r}); "
                "check that both counters cover the same window and label set"
            )

    @classmethod
    def from_bad(cls, bad: float, total: float) -> EventCounts:
        """Build counts from a bad-event counter, as many services only count failures."""
        bad_count = check_count("bad", bad)
        total_count = check_count("total", total)
        if bad_count > total_count:
            raise ValueError(
                f"bad ({bad!r}) cannot exceed total ({total!r}); "
                "check that both counters cover the same window and label set"
            )
        return cls(good=total_count - bad_count, total=total_count)

    @property
    def bad(self) -> float:
        return self.total - self.good

    @property
    def sli(self) -> float | NoData:
        """Share of good events; :data:`NO_TRAFFIC` when the window saw no events at all."""
        if self.total == 0:
            return NO_TRAFFIC
        return self.good / self.total

    @property
    def error_ratio(self) -> float | NoData:
        """Share of bad events; :data:`NO_TRAFFIC` when the window saw no events at all."""
        return error_ratio(self.good, self.total)


def error_ratio(good: float, total: float) -> float | NoData:
    """:attr:`EventCounts.error_ratio` of counts already known to be valid (sums of stored,
    validated counts), without building the object."""
    if total == 0:
        return NO_TRAFFIC
    return (total - good) / total


def sli(good: float, total: float) -> float | NoData:
    """SLI from good/total counts; zero traffic is no data, never 100 %."""
    return EventCounts(good, total).sli


def sli_from_bad(bad: float, total: float) -> float | NoData:
    """SLI from bad/total counts; zero traffic is no data, never 100 %."""
    return EventCounts.from_bad(bad, total).sli


# --------------------------------------------------------------------------------------------
# Objective and budget


@dataclass(frozen=True)
class Objective:
    """An SLO target given the way people write it: a percentage such as ``99.9``.

    100 % is rejected because it leaves no error budget, which makes every burn rate infinite and
    every policy decision a freeze; 0 % is rejected because it is not an objective.
    """

    percent: float

    def __post_init__(self) -> None:
        value = check_number("objective", self.percent)
        if not 0.0 < value < 100.0:
            raise ValueError(
                f"objective must be a percentage strictly between 0 and 100, got {self.percent!r}"
            )

    @property
    def ratio(self) -> float:
        return self.percent / 100.0

    @property
    def error_budget(self) -> float:
        """``1 - objective / 100``, computed in decimal so 99.9 gives exactly 0.001.

        Plain float arithmetic gives 0.0010000000000000009, which would leak into budget minutes
        and make a burn rate of exactly 1 print as 0.9999999999999991.
        """
        return _error_budget(self.percent)


# Cached: an evaluation asks for it about twenty times per SLO, and objectives are few.
@lru_cache(maxsize=1024)
def _error_budget(percent: float) -> float:
    return float((Decimal(100) - Decimal(str(percent))) / Decimal(100))


def budget_minutes(objective: Objective, period: timedelta) -> float:
    """Minutes of full outage the period's budget allows.

    Calendar periods vary in length (February, DST months), so callers pass the actual period
    length rather than a nominal 30 days.
    """
    check_period("period", period)
    return objective.error_budget * (period / timedelta(minutes=1))


def burn_rate(error_ratio: float | NoData, objective: Objective) -> float | NoData:
    """How many times faster than "exactly on budget" errors are being spent.

    A burn rate of 1 sustained for the whole period spends exactly the whole budget.
    """
    if isinstance(error_ratio, NoData):
        return error_ratio
    ratio = check_ratio("error ratio", error_ratio)
    return ratio / objective.error_budget


@dataclass(frozen=True)
class BudgetStatus:
    """Error budget consumed and remaining over a period.

    ``consumed`` may exceed 1 and ``remaining`` may go negative: an overspent budget keeps its
    real size so reviews can see by how much the objective was missed.
    """

    objective: Objective
    period: timedelta
    consumed: float

    def __post_init__(self) -> None:
        check_period("period", self.period)
        check_count("consumed", self.consumed)

    @property
    def remaining(self) -> float:
        return 1.0 - self.consumed

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0.0

    @property
    def total_minutes(self) -> float:
        return budget_minutes(self.objective, self.period)

    @property
    def consumed_minutes(self) -> float:
        return self.consumed * self.total_minutes

    @property
    def remaining_minutes(self) -> float:
        return self.remaining * self.total_minutes


def budget_status(
    error_ratio: float | NoData, objective: Objective, period: timedelta
) -> BudgetStatus | NoData:
    """Budget status from the error ratio measured over the period.

    The consumed fraction equals the burn rate over the whole period: spending errors at
    ``error_budget`` on average is exactly "on budget".
    """
    consumed = burn_rate(error_ratio, objective)
    if isinstance(consumed, NoData):
        return consumed
    return BudgetStatus(objective=objective, period=period, consumed=consumed)


def time_to_exhaustion(
    remaining: float, burn: float | NoData, period: timedelta
) -> timedelta | NoData | None:
    """How long the remaining budget lasts at the current burn rate.

    At burn rate ``b`` the whole budget lasts ``period / b``, so the remaining fraction ``r``
    lasts ``r * period / b``. Returns ``None`` for "never" (burn rate 0, or a duration too long
    for :class:`~datetime.timedelta`), ``timedelta(0)`` when the budget is already exhausted,
    and the :class:`NoData` marker when the burn rate is unknown.
    """
    check_period("period", period)
    left = check_number("remaining", remaining)
    if left <= 0.0:
        return timedelta()  # spent is spent, whether or not traffic is flowing right now
    if isinstance(burn, NoData):
        return burn
    rate = check_count("burn rate", burn)
    if rate == 0.0:
        return None
    seconds = left * period.total_seconds() / rate
    if seconds >= timedelta.max.total_seconds():
        return None
    return timedelta(seconds=seconds)


def forecast_remaining(
    remaining: float,
    burn: float | NoData,
    period: timedelta,
    horizon: timedelta = timedelta(hours=24),
) -> float | NoData:
    """Budget fraction left after ``horizon`` if the current burn rate holds.

    Burning at rate ``b`` for ``horizon`` spends ``b * horizon / period`` of the budget. The
    result may be negative, which reads as "overspent by then".
    """
    check_period("period", period)
    check_period("horizon", horizon)
    left = check_number("remaining", remaining)
    if isinstance(burn, NoData):
        return burn
    rate = check_count("burn rate", burn)
    return left - rate * (horizon / period)


# --------------------------------------------------------------------------------------------
# Latency SLI from cumulative histograms


def latency_counts(buckets: Mapping[float, float], threshold: float) -> EventCounts:
    """Good/total events from Prometheus-style cumulative buckets (``le`` bound -> count).

    Good events are the count of the bucket whose bound equals ``threshold``; total is the
    ``+Inf`` bucket. A threshold between bounds is rejected rather than interpolated, because
    interpolation would invent requests the histogram never recorded.
    """
    threshold = check_number("latency threshold", threshold)
    if math.inf not in buckets:
        raise ValueError("histogram has no +Inf bucket, so the total number of events is unknown")
    bounds = sorted(buckets)
    previous = 0.0
    for bound in bounds:
        count = check_count(f"count of bucket le={bound:g}", buckets[bound])
        if count < previous:
            raise ValueError(
                f"bucket counts must be cumulative (non-decreasing by le); "
                f"le={bound:g} has {count:g} after {previous:g}"
            )
        previous = count
    if threshold not in buckets:
        available = ", ".join(f"{bound:g}" for bound in bounds if math.isfinite(bound))
        raise ValueError(
            f"latency threshold {threshold:g} is not a bucket bound; "
            f"choose one of the histogram's bounds: {available}"
        )
    return EventCounts(good=float(buckets[threshold]), total=float(buckets[math.inf]))


def latency_sli(buckets: Mapping[float, float], threshold: float) -> float | NoData:
    """Share of events at or below ``threshold``; no data when the histogram is empty."""
    return latency_counts(buckets, threshold).sli
