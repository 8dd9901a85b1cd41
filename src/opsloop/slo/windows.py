"""Durations and the multiwindow multi-burn-rate alert table (Google SRE Workbook, ch. 5).

The workbook's table is written for a 30-day period as "x % of the budget spent within a long
window". Keeping the *budget share* fixed and deriving the burn factor from the period gives
exactly Sloth's google-30d and google-28d tables: 2 % of a 30-day budget in 1 h is 14.4x, 2 % of
a 28-day budget in 1 h is 13.44x.

For shorter periods the same shares give factors below 1 (a 7-day SLO would ticket at 0.233x, a
burn that ends the week with most of its budget left). A factor below 1 alerts on a burn the
budget can sustain, so factors are clamped at 1 for every period other than the two Sloth tables:
a 7-day SLO gets 3.36, 1.4, 1 and 1. The 28-day table keeps Sloth's 0.933 for the 3-day row so
rules stay identical to Sloth's for the periods Sloth ships. Clamping was chosen over scaling the
windows (Pyrra) because every SLO then keeps the same seven windows, recording rules and stored
burn rates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Literal

_UNITS = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_DURATION = re.compile(r"^(?:(\d+)([smhdw]))+$")
_PART = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str) -> timedelta:
    """Parse a Prometheus-style duration such as ``5m``, ``1h30m``, ``28d`` or ``4w``."""
    text = text.strip()
    if not _DURATION.match(text):
        raise ValueError(f"invalid duration {text!r}: expected e.g. 5m, 1h, 28d, 4w")
    total = timedelta()
    for amount, unit in _PART.findall(text):
        total += int(amount) * _UNITS[unit]
    if total <= timedelta():
        raise ValueError(f"invalid duration {text!r}: must be positive")
    return total


# Cached: every evaluation writes the same few window names about thirty times per SLO.
@lru_cache(maxsize=1024)
def format_duration(value: timedelta) -> str:
    """Render a duration the way Prometheus writes it (largest exact unit first)."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        raise ValueError("duration must be positive")
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if unit == "w" and seconds % size:
            continue  # "1w3d" reads worse than "10d"; use weeks only when exact
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


Severity = Literal["page", "ticket"]


@dataclass(frozen=True)
class BurnRateAlertWindow:
    """One row of the alert table: fire when this share of the period's budget is spent
    within ``long_window`` and the ``short_window`` confirms the burn is still going on."""

    severity: Severity
    budget_share: float
    long_window: timedelta
    short_window: timedelta

    def factor(self, period: timedelta) -> float:
        """The burn rate that spends ``budget_share`` of the budget within ``long_window``,
        at least 1 outside the Sloth tables (see the module docstring)."""
        factor = self.budget_share * (period / self.long_window)
        return factor if period in SLOTH_TABLE_PERIODS else max(factor, 1.0)


#: Periods whose factors are exactly Sloth's published google-30d and google-28d tables.
SLOTH_TABLE_PERIODS = frozenset({timedelta(days=30), timedelta(days=28)})


DEFAULT_ALERT_WINDOWS: tuple[BurnRateAlertWindow, ...] = (
    BurnRateAlertWindow("page", 0.02, timedelta(hours=1), timedelta(minutes=5)),
    BurnRateAlertWindow("page", 0.05, timedelta(hours=6), timedelta(minutes=30)),
    BurnRateAlertWindow("ticket", 0.10, timedelta(days=1), timedelta(hours=2)),
    BurnRateAlertWindow("ticket", 0.10, timedelta(days=3), timedelta(hours=6)),
)

#: Every window the table needs a burn rate for, shortest first: recorded by the Prometheus
#: rules, summed from pushed events, and shown in statuses.
ALERT_WINDOWS: tuple[timedelta, ...] = tuple(
    sorted({w for row in DEFAULT_ALERT_WINDOWS for w in (row.long_window, row.short_window)})
)

#: How long an alert's condition must hold before it fires (Prometheus ``for:``): long enough to
#: ride out a single bad evaluation, short next to the windows' own detection time. opsloop's own
#: evaluation applies the same hold, showing the alert as pending meanwhile.
ALERT_FOR: dict[Severity, timedelta] = {
    "page": timedelta(minutes=2),
    "ticket": timedelta(minutes=15),
}
