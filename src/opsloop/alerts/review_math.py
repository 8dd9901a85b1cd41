"""The weekly alert review's arithmetic: per alert name or service, how often it fired, how
long it lasted, whether it flapped, how much of it needed someone, and what to do about it.
Pure: the service hands in one plain row per alert instance.

Definitions (docs/alerts.md repeats them for readers):

- *fired*: alert instances that started in the period (a fingerprint firing again after it
  resolved is a new instance); *distinct*: distinct fingerprints (label sets) among them.
- *actionable*: marked actionable, or linked to an incident and not marked a false positive.
  *false positive*: marked so. Everything else is *unreviewed*.
- *signal-to-noise*: actionable instances per non-actionable one (false positives and
  unreviewed alike: by the review's rule an alert that needed no action is noise). ``None``
  when nothing was noise.
- *flapping*: a fingerprint that started more than ``cycles`` times within ``within``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum


class Advice(StrEnum):
    investigate_flapping = "investigate-flapping"
    tune_or_remove = "tune-or-remove"
    automate = "automate"
    needs_feedback = "needs-feedback"
    keep = "keep"


@dataclass(frozen=True)
class Instance:
    name: str
    service: str | None
    severity: str
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    feedback: str | None  # "actionable", "false_positive" or None
    linked: bool  # routed to an incident
    acked_at: datetime | None
    respond_by: datetime

    @property
    def actionable(self) -> bool:
        if self.feedback == "actionable":
            return True
        return self.linked and self.feedback != "false_positive"

    @property
    def false_positive(self) -> bool:
        return self.feedback == "false_positive"

    @property
    def acked_in_time(self) -> bool:
        return self.acked_at is not None and self.acked_at <= self.respond_by


@dataclass(frozen=True)
class Thresholds:
    """When the review recommends what; ``OPSLOOP_ALERT_REVIEW_*`` settings override them."""

    flap_cycles: int = 3
    flap_within: timedelta = timedelta(hours=1)
    #: Below this actionable share an alert is "rarely actionable": tune or remove it.
    rarely_actionable: float = 0.5
    #: At or above this share, and firing at least ``recurring`` times: automate it.
    always_actionable: float = 0.9
    recurring: int = 3
    #: Judge actionability only when at least this share of instances has a verdict.
    min_reviewed: float = 0.5


@dataclass(frozen=True)
class Summary:
    key: str  # the alert name, or the service ("" for alerts without one)
    fired: int
    distinct: int
    actionable: int
    false_positives: int
    unreviewed: int
    still_firing: int
    acked_in_time: int
    mean_seconds: float | None  # over the instances that ended
    p95_seconds: float | None
    flapping: int  # fingerprints that flapped
    severities: tuple[str, ...] = ()
    advice: Advice = Advice.keep
    reason: str = ""

    @property
    def actionable_share(self) -> float:
        return self.actionable / self.fired if self.fired else 0.0

    @property
    def signal_to_noise(self) -> float | None:
        noise = self.fired - self.actionable
        return self.actionable / noise if noise else None

    @property
    def acked_in_time_share(self) -> float:
        return self.acked_in_time / self.fired if self.fired else 0.0


@dataclass(frozen=True)
class Totals:
    total: int
    actionable: int
    false_positives: int
    unreviewed: int

    @property
    def signal_to_noise(self) -> float | None:
        noise = self.total - self.actionable
        return self.actionable / noise if noise else None


@dataclass(frozen=True)
class Day:
    day: date
    fired: int
    actionable: int


def nearest_rank(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``fraction`` of the
    values at or below it."""
    if not sorted_values:
        raise ValueError("no values")
    # The epsilon keeps 0.95 * 20 at rank 19 despite binary floating point.
    rank = max(1, math.ceil(fraction * len(sorted_values) - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def flapping_fingerprints(rows: Iterable[Instance], cycles: int, within: timedelta) -> set[str]:
    """Fingerprints with more than ``cycles`` starts inside some span of ``within``: the
    (cycles+1)-th start after any start comes less than ``within`` later."""
    starts: dict[str, list[datetime]] = defaultdict(list)
    for row in rows:
        starts[row.fingerprint].append(row.starts_at)
    found = set()
    for fingerprint, times in starts.items():
        times.sort()
        if any(times[i + cycles] - times[i] < within for i in range(len(times) - cycles)):
            found.add(fingerprint)
    return found


def advise(summary: Summary, limits: Thresholds) -> tuple[Advice, str]:
    """One recommendation and its reason; flapping first, since it distorts every other count."""
    if summary.flapping:
        return Advice.investigate_flapping, (
            f"{summary.flapping} label set(s) fired more than {limits.flap_cycles} times within "
            f"{_span(limits.flap_within)}; add a 'for' duration or hysteresis"
        )
    reviewed = summary.fired - summary.unreviewed
    if summary.fired and reviewed / summary.fired < limits.min_reviewed:
        return Advice.needs_feedback, (
            f"only {reviewed} of {summary.fired} instances marked actionable or false positive"
        )
    share = summary.actionable_share
    if share < limits.rarely_actionable:
        return Advice.tune_or_remove, (
            f"actionable {share:.0%} of {summary.fired} times "
            f"(below {limits.rarely_actionable:.0%}): tune the threshold or remove it"
        )
    if summary.fired >= limits.recurring and share >= limits.always_actionable:
        return Advice.automate, (
            f"fired {summary.fired} times, actionable {share:.0%}: automate the remediation"
        )
    return Advice.keep, f"actionable {share:.0%} of {summary.fired} times"


def summarise(
    rows: Sequence[Instance],
    key: Callable[[Instance], str],
    limits: Thresholds = Thresholds(),
) -> list[Summary]:
    """One summary per key, most fired first, then by key."""
    groups: dict[str, list[Instance]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    flapping = flapping_fingerprints(rows, limits.flap_cycles, limits.flap_within)
    found = [_summary(name, members, flapping, limits) for name, members in groups.items()]
    found.sort(key=lambda s: (-s.fired, s.key))
    return found


def _summary(key: str, rows: list[Instance], flapping: set[str], limits: Thresholds) -> Summary:
    durations = sorted(
        (r.ends_at - r.starts_at).total_seconds() for r in rows if r.ends_at is not None
    )
    actionable = sum(r.actionable for r in rows)
    false_positives = sum(r.false_positive for r in rows)
    fingerprints = {r.fingerprint for r in rows}
    draft = Summary(
        key=key,
        fired=len(rows),
        distinct=len(fingerprints),
        actionable=actionable,
        false_positives=false_positives,
        unreviewed=len(rows) - actionable - false_positives,
        still_firing=sum(r.ends_at is None for r in rows),
        acked_in_time=sum(r.acked_in_time for r in rows),
        mean_seconds=sum(durations) / len(durations) if durations else None,
        p95_seconds=nearest_rank(durations, 0.95) if durations else None,
        flapping=len(fingerprints & flapping),
        severities=tuple(sorted({r.severity for r in rows})),
    )
    advice, reason = advise(draft, limits)
    return replace(draft, advice=advice, reason=reason)


def totals(rows: Iterable[Instance]) -> Totals:
    total = actionable = false_positives = 0
    for row in rows:
        total += 1
        actionable += row.actionable
        false_positives += row.false_positive
    return Totals(total, actionable, false_positives, total - actionable - false_positives)


def per_day(rows: Iterable[Instance], since: datetime, until: datetime) -> list[Day]:
    """Instances fired per UTC day, every day of the period included (zeros too)."""
    fired: dict[date, int] = defaultdict(int)
    actionable: dict[date, int] = defaultdict(int)
    for row in rows:
        day = row.starts_at.date()
        fired[day] += 1
        actionable[day] += row.actionable
    days = []
    day = since.date()
    last = (until - timedelta(microseconds=1)).date()
    while day <= last:
        days.append(Day(day, fired.get(day, 0), actionable.get(day, 0)))
        day += timedelta(days=1)
    return days


def _span(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
