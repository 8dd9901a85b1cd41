"""Multiwindow multi-burn-rate alert evaluation for opsloop.

Like :mod:`opsloop.slo.math`, whose burn rates it consumes, everything here is a pure function of
its arguments: no clock, database or network.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from opsloop.slo.math import NoData, check_count, check_period
from opsloop.slo.windows import DEFAULT_ALERT_WINDOWS, BurnRateAlertWindow, Severity

__all__ = [
    "FIRING_REL_TOLERANCE",
    "AlertEvaluation",
    "AlertRowResult",
    "evaluate_burn_rate_alerts",
    "required_windows",
]

FIRING_REL_TOLERANCE = 1e-9
"""Relative slack when comparing a burn rate with a row's factor.

Factors are float products (the 28-day 6 h factor is 5.6000000000000005) and burn rates are float
quotients, so a burn exactly at the threshold could otherwise fail to fire on rounding alone.
"""

_SEVERITY_RANK: dict[Severity, int] = {"page": 2, "ticket": 1}


@dataclass(frozen=True)
class AlertRowResult:
    """Outcome of one alert-table row: both windows must burn at least ``factor`` to fire."""

    window: BurnRateAlertWindow
    factor: float
    long_burn: float | NoData
    short_burn: float | NoData
    firing: bool

    @property
    def severity(self) -> Severity:
        return self.window.severity

    @property
    def has_data(self) -> bool:
        return not isinstance(self.long_burn, NoData) and not isinstance(self.short_burn, NoData)


@dataclass(frozen=True)
class AlertEvaluation:
    """All rows of one evaluation, in table order."""

    rows: tuple[AlertRowResult, ...]

    @property
    def firing_rows(self) -> tuple[AlertRowResult, ...]:
        return tuple(row for row in self.rows if row.firing)

    @property
    def firing(self) -> bool:
        return any(row.firing for row in self.rows)

    @property
    def highest_severity(self) -> Severity | None:
        """``"page"`` beats ``"ticket"``; ``None`` when nothing fires."""
        firing = self.firing_rows
        if not firing:
            return None
        return max((row.severity for row in firing), key=_SEVERITY_RANK.__getitem__)


def required_windows(
    table: Iterable[BurnRateAlertWindow] = DEFAULT_ALERT_WINDOWS,
) -> tuple[timedelta, ...]:
    """Every window whose burn rate an evaluation of ``table`` needs, shortest first."""
    windows = {w for row in table for w in (row.long_window, row.short_window)}
    return tuple(sorted(windows))


def _window_burn(
    burn_rates: Mapping[timedelta, float | NoData | None], window: timedelta
) -> float | NoData:
    value = burn_rates.get(window)
    if value is None:
        return NoData(f"no burn rate for the {window} window")
    if isinstance(value, NoData):
        return value
    return check_count(f"burn rate for the {window} window", value)


def _reaches(burn: float | NoData, factor: float) -> bool:
    if isinstance(burn, NoData):
        return False
    return burn >= factor or math.isclose(burn, factor, rel_tol=FIRING_REL_TOLERANCE)


def evaluate_burn_rate_alerts(
    burn_rates: Mapping[timedelta, float | NoData | None],
    period: timedelta,
    table: Iterable[BurnRateAlertWindow] = DEFAULT_ALERT_WINDOWS,
) -> AlertEvaluation:
    """Evaluate the multiwindow multi-burn-rate table against measured burn rates.

    The long window proves enough budget was spent to matter; the short window proves it is still
    being spent, so an alert resets soon after the problem is fixed. A missing window (absent key,
    ``None`` or :class:`NoData`) keeps its row silent and visible as "no data" instead of guessing.
    """
    check_period("period", period)
    rows = []
    for row in table:
        factor = row.factor(period)
        long_burn = _window_burn(burn_rates, row.long_window)
        short_burn = _window_burn(burn_rates, row.short_window)
        rows.append(
            AlertRowResult(
                window=row,
                factor=factor,
                long_burn=long_burn,
                short_burn=short_burn,
                firing=_reaches(long_burn, factor) and _reaches(short_burn, factor),
            )
        )
    return AlertEvaluation(rows=tuple(rows))
