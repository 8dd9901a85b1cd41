"""Reliability figures, defined once: the reference the SQL that computes them over the stored
incidents is tested against. Pure: no clock, database or network.

For a set of incidents in a period, each with its started time and, where known, when it was
detected, acknowledged, mitigated and resolved:

- MTTD (mean time to detect) = detected - started
- MTTA (mean time to acknowledge) = acknowledged - started
- MTTM (mean time to mitigate) = mitigated - started
- MTTR (mean time to resolve) = resolved - started

each as mean, median and 90th percentile over the incidents that have both times (an open
incident has no resolution time yet and is left out of MTTR rather than counted as zero).

- Outage: the union of the incidents' [started, resolved) intervals clipped to the period, so
  two overlapping incidents on one service are not counted twice; an unresolved incident runs
  to the end of the period.
- MTBF (mean time between failures) = (period length - outage) / number of failures, where the
  failures are the incidents that started in the period; undefined with none.
- Availability = 1 - outage / period length.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

#: The targets the operational-excellence framework sets for the figures.
MTTR_TARGET = timedelta(hours=4)
MTBF_TARGET = timedelta(hours=720)


@dataclass(frozen=True)
class Durations:
    count: int
    mean: timedelta | None
    median: timedelta | None
    p90: timedelta | None


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (PostgreSQL's ``percentile_cont``), so the
    SQL and this reference agree."""
    if not sorted_values:
        raise ValueError("no values")
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be in [0, 1]")
    position = fraction * (len(sorted_values) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    weight = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * weight


def durations(pairs: Iterable[tuple[datetime, datetime | None]]) -> Durations:
    """Summary of ``end - start`` over the pairs whose end is known."""
    seconds = sorted((end - start).total_seconds() for start, end in pairs if end is not None)
    if not seconds:
        return Durations(0, None, None, None)
    as_delta = [
        timedelta(seconds=s)
        for s in (
            sum(seconds) / len(seconds),
            percentile(seconds, 0.5),
            percentile(seconds, 0.9),
        )
    ]
    return Durations(len(seconds), *as_delta)


def outage(
    intervals: Iterable[tuple[datetime, datetime | None]], start: datetime, end: datetime
) -> timedelta:
    """The union of the intervals, clipped to ``[start, end)``; an open one runs to ``end``."""
    if end <= start:
        raise ValueError("the period must end after it starts")
    clipped = sorted(
        (max(a, start), min(b if b is not None else end, end))
        for a, b in intervals
        if a < end and (b is None or b > start)
    )
    total = timedelta(0)
    current_start: datetime | None = None
    current_end: datetime | None = None
    for a, b in clipped:
        if b <= a:
            continue
        if current_end is None or a > current_end:
            if current_start is not None and current_end is not None:
                total += current_end - current_start
            current_start, current_end = a, b
        else:
            current_end = max(current_end, b)
    if current_start is not None and current_end is not None:
        total += current_end - current_start
    return total


def mtbf(period: timedelta, outage_time: timedelta, failures: int) -> timedelta | None:
    if failures <= 0:
        return None
    return (period - outage_time) / failures


def availability(period: timedelta, outage_time: timedelta) -> float:
    if period <= timedelta(0):
        raise ValueError("the period must be longer than zero")
    return 1.0 - outage_time / period
