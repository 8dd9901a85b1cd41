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
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "CalendarUnit",
    "PeriodWindow",
    "calendar_window",
    "resolve_zone",
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


def resolve_zone(zone: str | tzinfo) -> tzinfo:
    """An IANA zone name or tzinfo, with unknown names reported as ``ValueError``."""
    if not isinstance(zone, str):
        return zone
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {zone!r}") from exc


#: The default calendar anchor: a Monday, first day of a month and of a quarter, at midnight.
DEFAULT_ANCHOR = datetime(2024, 1, 1)


def _add_months(moment: datetime, months: int) -> datetime:
    # Callers keep anchors on day 1..28, which every month has.
    index = moment.month - 1 + months
    return moment.replace(year=moment.year + index // 12, month=index % 12 + 1)


def _local_period(
    local_now: datetime, unit: CalendarUnit, anchor: datetime
) -> tuple[datetime, datetime]:
    """The wall-clock ``[start, end)`` of the period containing ``local_now``, counted in whole
    units from ``anchor`` (all naive local times, so DST never moves a boundary off midnight)."""
    if unit in ("day", "week"):
        step = timedelta(days=1 if unit == "day" else 7)
        start = anchor + ((local_now - anchor) // step) * step
        return start, start + step
    months = 1 if unit == "month" else 3
    between = (local_now.year - anchor.year) * 12 + local_now.month - anchor.month
    count = between // months * months
    start = _add_months(anchor, count)
    if start > local_now:
        count -= months
        start = _add_months(anchor, count)
    return start, _add_months(anchor, count + months)


def _local_instant(local: datetime, zone: tzinfo) -> datetime:
    # fold=0 picks the first occurrence of an ambiguous midnight, and for a midnight skipped by
    # a DST gap it yields the instant the gap begins: both are "the first instant of the day".
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def calendar_window(
    now: datetime, unit: CalendarUnit, zone: str | tzinfo, anchor: datetime = DEFAULT_ANCHOR
) -> PeriodWindow:
    """The calendar day, week, month or quarter in ``zone`` containing ``now``.

    Periods are whole units counted from ``anchor``, a local time without offset (OpenSLO's
    calendar ``startTime``). The default anchor gives weeks from Monday midnight, months from
    the 1st and quarters from January, April, July and October.
    """
    if unit not in _UNITS:
        raise ValueError(f"unknown calendar unit {unit!r}; expected one of {', '.join(_UNITS)}")
    if anchor.tzinfo is not None:
        raise ValueError("anchor must be a local time without UTC offset")
    tz = resolve_zone(zone)
    local_now = _require_aware("now", now).astimezone(tz).replace(tzinfo=None)
    start, end = _local_period(local_now, unit, anchor)
    return PeriodWindow(start=_local_instant(start, tz), end=_local_instant(end, tz))
