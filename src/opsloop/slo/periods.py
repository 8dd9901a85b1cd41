"""Rolling and calendar-aligned SLO periods.

All results are in UTC. Python subtracts two datetimes that share one ``tzinfo`` by wall clock,
so a Berlin March computed in local time would come out 31 days long instead of 31 days minus
the hour lost to daylight saving time; normalising to UTC makes every length the real elapsed
time, which is what error-budget minutes must be based on.

Calendar periods start at local midnight in the team's IANA time zone: a month in Europe/Berlin
starts at 23:00 or 22:00 UTC the day before, depending on the season. Naive datetimes are
rejected because guessing their zone would shift period boundaries by hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "CalendarUnit",
    "PeriodWindow",
    "calendar_window",
    "resolve_zone",
    "rolling_window",
]

CalendarUnit = Literal["day", "week", "month", "quarter"]
_UNITS: tuple[CalendarUnit, ...] = ("day", "week", "month", "quarter")


def _require_aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


@dataclass(frozen=True)
class PeriodWindow:
    """The half-open interval ``[start, end)`` of one SLO period, stored in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = _require_aware("start", self.start).astimezone(UTC)
        end = _require_aware("end", self.end).astimezone(UTC)
        if end <= start:
            raise ValueError(
                f"period end {end.isoformat()} must be after start {start.isoformat()}"
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def length(self) -> timedelta:
        """Real elapsed length; calendar periods differ (February, DST months)."""
        return self.end - self.start

    def contains(self, instant: datetime) -> bool:
        instant = _require_aware("instant", instant)
        return self.start <= instant < self.end

    def elapsed(self, now: datetime) -> timedelta:
        now = _require_aware("now", now).astimezone(UTC)
        if not self.start <= now <= self.end:
            raise ValueError(
                f"{now.isoformat()} is outside the period "
                f"{self.start.isoformat()} .. {self.end.isoformat()}"
            )
        return now - self.start

    def elapsed_fraction(self, now: datetime) -> float:
        """Share of the period already behind ``now``: 0 at the start, 1 at the end.

        Comparing this with the budget consumed tells whether a calendar period is on pace.
        """
        return self.elapsed(now) / self.length


def resolve_zone(zone: str | tzinfo) -> tzinfo:
    """An IANA zone name or tzinfo, with unknown names reported as ``ValueError``."""
    if not isinstance(zone, str):
        return zone
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {zone!r}") from exc


def rolling_window(now: datetime, length: timedelta) -> PeriodWindow:
    """The rolling period ending at ``now``, e.g. the last 28 days."""
    if length <= timedelta():
        raise ValueError(f"rolling period length must be positive, got {length!r}")
    end = _require_aware("now", now).astimezone(UTC)
    return PeriodWindow(start=end - length, end=end)


def _period_start(day: date, unit: CalendarUnit) -> date:
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())  # Monday
    if unit == "month":
        return day.replace(day=1)
    first_month = 3 * ((day.month - 1) // 3) + 1
    return date(day.year, first_month, 1)


def _next_start(start: date, unit: CalendarUnit) -> date:
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + timedelta(weeks=1)
    months = 1 if unit == "month" else 3
    index = start.month - 1 + months
    return date(start.year + index // 12, index % 12 + 1, 1)


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    # fold=0 picks the first occurrence of an ambiguous midnight, and for a midnight skipped by
    # a DST gap it yields the instant the gap begins: both are "the first instant of the day".
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def calendar_window(now: datetime, unit: CalendarUnit, zone: str | tzinfo) -> PeriodWindow:
    """The calendar day, week (Monday first), month or quarter in ``zone`` containing ``now``."""
    if unit not in _UNITS:
        raise ValueError(f"unknown calendar unit {unit!r}; expected one of {', '.join(_UNITS)}")
    tz = resolve_zone(zone)
    local_day = _require_aware("now", now).astimezone(tz).date()
    start = _period_start(local_day, unit)
    return PeriodWindow(
        start=_local_midnight(start, tz), end=_local_midnight(_next_start(start, unit), tz)
    )
