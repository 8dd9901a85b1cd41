"""Multiwindow multi-burn-rate alert evaluation for opsloop.

Like :mod:`opsloop.slo.math`, whose burn rates it consumes, everything here is a pure function of
its arguments: no clock, database or network.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from opsloop.slo.math import REL_TOLERANCE, NoData, check_count, check_period
from opsloop.slo.windows import DEFAULT_ALERT_WINDOWS, BurnRateAlertWindow, Severity

__all__ = [
    "FIRING_REL_TOLERANCE",
    "AlertEvaluation",
    "AlertMemory",
    "AlertRowResult",
    "AlertRowState",
    "AlertState",
    "advance",
    "evaluate_burn_rate_alerts",
    "exceeds",
    "highest_severity",
]

FIRING_REL_TOLERANCE = REL_TOLERANCE
"""Relative slack when comparing a burn rate with a row's factor.

Factors are float products (the 28-day 6 h factor is 5.6000000000000005) and burn rates are float
quotients. The rules fire on a strictly greater ratio, so a burn within rounding of the factor is
treated as equal to it, i.e. not firing, whichever side the rounding fell on.
"""

_SEVERITY_RANK: dict[Severity, int] = {"page": 2, "ticket": 1}


@dataclass(frozen=True)
class AlertRowResult:
    """Outcome of one alert-table row: both windows must burn more than ``factor``.

    ``condition`` is ``None`` when either window has no data: the row is then neither true nor
    false, and callers keep its last known state instead of resolving it.
    """

    window: BurnRateAlertWindow
    factor: float
    long_burn: float | NoData
    short_burn: float | NoData
    condition: bool | None

    @property
    def severity(self) -> Severity:
        return self.window.severity


@dataclass(frozen=True)
class AlertEvaluation:
    """All rows of one evaluation, in table order."""

    rows: tuple[AlertRowResult, ...]


AlertState = Literal["inactive", "pending", "firing"]
ALERT_STATES: tuple[AlertState, ...] = ("inactive", "pending", "firing")


@dataclass(frozen=True)
class AlertMemory:
    """What the previous evaluation knew of one row: its state and since when it held."""

    state: AlertState
    active_since: datetime | None = None


@dataclass(frozen=True)
class AlertRowState:
    """A row's state after this evaluation, the way Prometheus tracks an alert with ``for:``:
    ``pending`` while the condition has held for less than the hold time, then ``firing``.
    ``stale`` marks a state carried over from an earlier evaluation because data is missing."""

    result: AlertRowResult
    state: AlertState
    active_since: datetime | None
    hold: timedelta
    stale: bool


def advance(
    result: AlertRowResult, before: AlertMemory | None, now: datetime, hold: timedelta
) -> AlertRowState:
    """Move one row from its previous state to this evaluation's (Prometheus' rule semantics:
    firing once the condition has held for at least ``hold``)."""
    if result.condition is None:
        # Missing data says nothing about the burn: a firing alert must not read as resolved.
        kept = before or AlertMemory("inactive")
        return AlertRowState(result, kept.state, kept.active_since, hold, stale=True)
    if not result.condition:
        return AlertRowState(result, "inactive", None, hold, stale=False)
    held = before is not None and before.state != "inactive" and before.active_since is not None
    since = before.active_since if held and before and before.active_since else now
    state: AlertState = "firing" if now - since >= hold else "pending"
    return AlertRowState(result, state, since, hold, stale=False)


def highest_severity(rows: Iterable[AlertRowState]) -> Severity | None:
    """``"page"`` beats ``"ticket"``; ``None`` when nothing fires."""
    firing: list[Severity] = [row.result.severity for row in rows if row.state == "firing"]
    if not firing:
        return None
    return max(firing, key=_SEVERITY_RANK.__getitem__)


def _window_burn(
    burn_rates: Mapping[timedelta, float | NoData | None], window: timedelta
) -> float | NoData:
    value = burn_rates.get(window)
    if value is None:
        return NoData(f"no burn rate for the {window} window")
    if isinstance(value, NoData):
        return value
    return check_count(f"burn rate for the {window} window", value)


def exceeds(burn: float, factor: float) -> bool:
    """``burn > factor`` as the generated rules compare, with a burn within rounding of the
    factor counting as equal (so not above it) on both sides."""
    return burn > factor and not math.isclose(burn, factor, rel_tol=FIRING_REL_TOLERANCE)


def _condition(long_burn: float | NoData, short_burn: float | NoData, factor: float) -> bool | None:
    if isinstance(long_burn, NoData) or isinstance(short_burn, NoData):
        return None
    return exceeds(long_burn, factor) and exceeds(short_burn, factor)


def evaluate_burn_rate_alerts(
    burn_rates: Mapping[timedelta, float | NoData | None],
    period: timedelta,
    table: Iterable[BurnRateAlertWindow] = DEFAULT_ALERT_WINDOWS,
) -> AlertEvaluation:
    """Evaluate the multiwindow multi-burn-rate table against measured burn rates.

    The long window proves enough budget was spent to matter; the short window proves it is still
    being spent, so an alert resets soon after the problem is fixed. A missing window (absent key,
    ``None`` or :class:`NoData`) leaves the row's condition unknown (``None``) instead of guessing.
    Pending and firing (the rules' ``for:``) are decided by :func:`advance`.
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
                condition=_condition(long_burn, short_burn, factor),
            )
        )
    return AlertEvaluation(rows=tuple(rows))
