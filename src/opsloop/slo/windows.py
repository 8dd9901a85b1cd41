"""Durations and the multiwindow multi-burn-rate alert table (Google SRE Workbook, ch. 5).

The workbook's table is written for a 30-day period as "x % of the budget spent within a long
window". Keeping the *budget share* fixed and deriving the burn factor from the period is what
makes the same table meaningful for 28-day or 7-day periods: 2 % of a 30-day budget in 1 h is
14.4x, 2 % of a 28-day budget in 1 h is 13.44x.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
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
        """The burn rate that spends ``budget_share`` of the budget within ``long_window``."""
        return self.budget_share * (period / self.long_window)


DEFAULT_ALERT_WINDOWS: tuple[BurnRateAlertWindow, ...] = (
    BurnRateAlertWindow("page", 0.02, timedelta(hours=1), timedelta(minutes=5)),
    BurnRateAlertWindow("page", 0.05, timedelta(hours=6), timedelta(minutes=30)),
    BurnRateAlertWindow("ticket", 0.10, timedelta(days=1), timedelta(hours=2)),
    BurnRateAlertWindow("ticket", 0.10, timedelta(days=3), timedelta(hours=6)),
)
