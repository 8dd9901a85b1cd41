"""The periods reliability figures are grouped into by time: ISO weeks (Monday 00:00 UTC) and
calendar months (UTC), clipped to the asked period. Pure: no clock, database or network."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

UNITS = ("week", "month")


@dataclass(frozen=True)
class Bucket:
    label: str  # 2026-W45 or 2026-11
    start: datetime  # inclusive, clipped to the period
    end: datetime  # exclusive, clipped to the period

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def _week_start(at: datetime) -> datetime:
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _month_start(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(start: datetime) -> datetime:
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


def buckets(since: datetime, until: datetime, unit: str) -> list[Bucket]:
    """Every week or month that overlaps ``[since, until)``, in order, each clipped to it."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}")
    if until <= since:
        return []
    found: list[Bucket] = []
    start = _week_start(since) if unit == "week" else _month_start(since)
    while start < until:
        if unit == "week":
            end = start + timedelta(days=7)
            year, week, _ = start.isocalendar()
            label = f"{year}-W{week:02d}"
        else:
            end = _next_month(start)
            label = f"{start:%Y-%m}"
        found.append(Bucket(label, max(start, since), min(end, until)))
        start = end
    return found
