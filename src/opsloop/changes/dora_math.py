"""DORA's four keys as pure arithmetic: percentiles, rates and performance bands, and a
reference computation over plain change facts that the SQL in :mod:`opsloop.changes.dora`
must agree with. No clock, database or network.

Percentiles interpolate linearly between the two nearest ranks (the "type 7" definition of
most statistics packages): over n sorted values, the p-th percentile sits at the 0-based rank
h = (n - 1) * p / 100, between the values at floor(h) and ceil(h).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

DAY = 86_400.0
HOUR = 3_600.0


class Band(StrEnum):
    elite = "elite"
    high = "high"
    medium = "medium"
    low = "low"


def ranks(n: int, percent: int) -> tuple[int, int, float]:
    """The 0-based ranks either side of the percentile and the weight of the upper one, in
    integer arithmetic so SQL can compute the same ranks."""
    scaled = (n - 1) * percent
    lower, upper = scaled // 100, (scaled + 99) // 100
    return lower, upper, (scaled - lower * 100) / 100


def between(lower_value: float, upper_value: float, weight: float) -> float:
    return lower_value + (upper_value - lower_value) * weight


def percentile(values: Iterable[float], percent: int) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    lower, upper, weight = ranks(len(ordered), percent)
    return between(ordered[lower], ordered[upper], weight)


def median(values: Iterable[float]) -> float | None:
    return percentile(values, 50)


def rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def per_day(count: int, days: float) -> float:
    return count / days if days > 0 else 0.0


def shown_duration(seconds: float | None) -> str:
    """A duration as people read it: minutes under an hour, hours under two days, else days."""
    if seconds is None:
        return "—"
    if seconds < HOUR:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * DAY:
        return f"{seconds / HOUR:.1f} h"
    return f"{seconds / DAY:.1f} d"


def shown_percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


# Bands: the lower edge of each band as DORA's research describes it, with the gaps between
# its published ranges closed so that every value falls in exactly one band.


def frequency_band(deploys_per_day: float | None) -> Band | None:
    """elite: on demand, a deployment a day or more; high: at least weekly; medium: at least
    monthly (30 days); low: less often."""
    if deploys_per_day is None:
        return None
    if deploys_per_day >= 1:
        return Band.elite
    if deploys_per_day >= 1 / 7:
        return Band.high
    if deploys_per_day >= 1 / 30:
        return Band.medium
    return Band.low


def lead_time_band(seconds: float | None) -> Band | None:
    """elite: under a day; high: under a week; medium: under a month (30 days); low: longer."""
    return _duration_band(seconds, DAY, 7 * DAY, 30 * DAY)


def restore_band(seconds: float | None) -> Band | None:
    """elite: under an hour; high: under a day; medium: under a week; low: longer."""
    return _duration_band(seconds, HOUR, DAY, 7 * DAY)


def failure_band(failure_rate: float | None) -> Band | None:
    """elite: 5 % or less; high: 10 % or less; medium: 15 % or less; low: more."""
    if failure_rate is None:
        return None
    if failure_rate <= 0.05:
        return Band.elite
    if failure_rate <= 0.10:
        return Band.high
    if failure_rate <= 0.15:
        return Band.medium
    return Band.low


def _duration_band(seconds: float | None, elite: float, high: float, medium: float) -> Band | None:
    if seconds is None:
        return None
    if seconds < elite:
        return Band.elite
    if seconds < high:
        return Band.high
    if seconds < medium:
        return Band.medium
    return Band.low


# The reference: the four keys of one group of changes, computed the slow, obvious way.

COUNTED_STATES = ("completed", "failed", "rolled_back")


@dataclass(frozen=True)
class Facts:
    """What the keys need of one change."""

    key: str
    state: str
    submitted_at: datetime | None
    committed_at: datetime | None
    finished_at: datetime | None
    incident_key: str | None = None


@dataclass(frozen=True)
class Keys:
    deployments: int
    deploys_per_day: float
    lead_time_median: float | None
    lead_time_p90: float | None
    finished: int
    failures: int
    failure_rate: float | None
    restore_median: float | None


def is_failure(
    fact: Facts, caused_incidents: frozenset[str], failed_checks: frozenset[str]
) -> bool:
    return (
        fact.state in ("failed", "rolled_back")
        or fact.incident_key is not None
        or fact.key in caused_incidents
        or fact.key in failed_checks
    )


def reference_keys(
    facts: Sequence[Facts],
    *,
    since: datetime,
    until: datetime,
    caused_incidents: frozenset[str] = frozenset(),
    failed_checks: frozenset[str] = frozenset(),
    restore_seconds: Sequence[float] = (),
) -> Keys:
    """The keys of the changes in ``facts`` that finished in [since, until)."""
    inside = [
        f
        for f in facts
        if f.finished_at is not None
        and since <= f.finished_at < until
        and f.state in COUNTED_STATES
    ]
    done = [f for f in inside if f.state == "completed"]
    leads = [
        (f.finished_at - start).total_seconds()
        for f in done
        if f.finished_at is not None and (start := f.committed_at or f.submitted_at) is not None
    ]
    failures = sum(1 for f in inside if is_failure(f, caused_incidents, failed_checks))
    days = (until - since) / timedelta(days=1)
    return Keys(
        deployments=len(done),
        deploys_per_day=per_day(len(done), days),
        lead_time_median=percentile(leads, 50),
        lead_time_p90=percentile(leads, 90),
        finished=len(inside),
        failures=failures,
        failure_rate=rate(failures, len(inside)),
        restore_median=median(restore_seconds),
    )
