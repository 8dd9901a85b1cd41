"""What an evaluation announces to people: burn-rate alerts that start or stop firing, and
error-budget policy states that change. Pure: the evaluation hands the outcome to the
notification outbox in its own transaction (opsloop.slo.evaluation.record).

Messages are written for a person reading a chat line or a mail subject: service and SLO
first, then what happened, then the numbers that say how bad it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opsloop.slo.math import NoData

ALERT_FIRING = "slo.alert.firing"
ALERT_RESOLVED = "slo.alert.resolved"
POLICY_CHANGED = "slo.policy.changed"
EVENT_TYPES = {
    ALERT_FIRING: "an SLO's burn-rate alert started firing",
    ALERT_RESOLVED: "an SLO's burn-rate alert stopped firing",
    POLICY_CHANGED: "an SLO's error-budget policy state changed",
}


@dataclass(frozen=True)
class Announcement:
    event_type: str
    service: str
    summary: str
    data: dict[str, Any]
    path: str  # the page it links to, under opsloop's public URL


@dataclass(frozen=True)
class Subject:
    """The SLO an announcement is about, with the numbers every message shows."""

    slo_id: int
    service: str
    name: str
    objective: float
    budget_remaining: float | NoData
    policy_state: str
    policy_action: str

    @property
    def path(self) -> str:
        return f"/slos/{self.slo_id}"

    def common(self) -> dict[str, Any]:
        return {
            "slo": {"id": self.slo_id, "service": self.service, "name": self.name},
            "objective": self.objective,
            "budget_remaining": _number(self.budget_remaining),
            "policy_state": self.policy_state,
        }


def alert_changed(subject: Subject, alert: Mapping[str, Any]) -> Announcement:
    """An alert-event row of the evaluation (alert, severity, factor, burn rates, firing)."""
    firing = bool(alert["firing"])
    verb = "firing" if firing else "resolved"
    burns = (
        f"burn rate {_burn(alert['long_burn'])} (long window) / "
        f"{_burn(alert['short_burn'])} (short window), threshold {_burn(alert['factor'])}"
    )
    summary = (
        f"[{alert['severity'].upper()}] {subject.service}/{subject.name}: burn-rate alert "
        f"{alert['alert']} {verb}; {burns}; error budget left {_percent(subject.budget_remaining)}"
    )
    data = subject.common() | {
        "alert": alert["alert"],
        "severity": alert["severity"],
        "firing": firing,
        "factor": _number(alert["factor"]),
        "long_burn": _number(alert["long_burn"]),
        "short_burn": _number(alert["short_burn"]),
    }
    return Announcement(
        ALERT_FIRING if firing else ALERT_RESOLVED, subject.service, summary, data, subject.path
    )


def policy_changed(subject: Subject, before: str) -> Announcement:
    summary = (
        f"{subject.service}/{subject.name}: error-budget policy {before} -> "
        f"{subject.policy_state} (budget left {_percent(subject.budget_remaining)})"
        + (f"; {subject.policy_action}" if subject.policy_action else "")
    )
    data = subject.common() | {"before": before, "action": subject.policy_action}
    return Announcement(POLICY_CHANGED, subject.service, summary, data, subject.path)


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return round(float(value), 6)
    return None


def _burn(value: object) -> str:
    number = _number(value)
    return "n/a" if number is None else f"{number:.2f}x"


def _percent(value: float | NoData) -> str:
    number = _number(value)
    return "unknown (no data)" if number is None else f"{number * 100:.1f}%"
