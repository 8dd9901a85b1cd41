"""The alerting standard: how soon each severity must be acknowledged, and how. Pure.

Defaults: critical 5 minutes (page), high 15 minutes (page if not acknowledged), medium 1 hour
(ticket), low the next business day (ticket): 09:00 UTC of the next weekday after the alert
started. An alert without a severity label, or with one the standard does not name, is held
to ``medium``. ``OPSLOOP_ALERT_STANDARD`` overrides or adds severities.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from opsloop.core.config import ALERT_RULE

Action = Literal["page", "ticket"]
NEXT_BUSINESS_DAY = "next-business-day"
BUSINESS_DAY_STARTS = 9  # hour, UTC
FALLBACK_SEVERITY = "medium"
DEFAULTS = {
    "critical": "5m page",
    "high": "15m page",
    "medium": "1h ticket",
    "low": f"{NEXT_BUSINESS_DAY} ticket",
}


@dataclass(frozen=True)
class Target:
    """Respond within ``within``; None means by the start of the next business day."""

    within: timedelta | None
    action: Action

    def respond_by(self, starts_at: datetime) -> datetime:
        if self.within is not None:
            return starts_at + self.within
        return next_business_day(starts_at)

    def describe(self) -> str:
        if self.within is None:
            return f"next business day ({self.action})"
        minutes = int(self.within.total_seconds() // 60)
        return f"{minutes} min ({self.action})"


def parse_rule(rule: str) -> Target:
    match = ALERT_RULE.fullmatch(rule)
    if match is None:
        raise ValueError(f"bad alerting rule {rule!r}")
    when, action = match.group(1), match.group(2)
    within = None
    if when != NEXT_BUSINESS_DAY:
        amount = int(when[:-1])
        within = timedelta(minutes=amount) if when.endswith("m") else timedelta(hours=amount)
    return Target(within, "page" if action == "page" else "ticket")


def standard(overrides: Mapping[str, str]) -> dict[str, Target]:
    """The defaults with the configured severities over them."""
    return {name: parse_rule(rule) for name, rule in {**DEFAULTS, **overrides}.items()}


def target_for(rules: Mapping[str, Target], severity: str) -> Target:
    return rules.get(severity) or rules.get(FALLBACK_SEVERITY) or parse_rule(DEFAULTS["medium"])


def next_business_day(at: datetime) -> datetime:
    """09:00 UTC of the first weekday after ``at``'s day (Friday, Saturday, Sunday: Monday)."""
    day = at.replace(hour=BUSINESS_DAY_STARTS, minute=0, second=0, microsecond=0)
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
