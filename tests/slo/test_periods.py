"""Tests for opsloop's rolling and calendar SLO periods (DST, leap years, time zones)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsloop.slo.math import Objective, budget_minutes
from opsloop.slo.periods import (
    CalendarUnit,
    PeriodWindow,
    calendar_window,
    resolve_zone,
)
from opsloop.slo.spec import CalendarWindow, PushedEvents, RollingWindow, SLODefinition
from opsloop.slo.status import budget_window, period_length

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
D = timedelta(days=1)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# ---------------------------------------------------------------------------- rolling


def _rolling(days: int) -> SLODefinition:
    return SLODefinition(
        service="checkout",
        name="availability",
        objective=99.9,
        indicator=PushedEvents(),
        window=RollingWindow(timedelta(days=days)),
    )


@pytest.mark.parametrize("days", [7, 28, 30])
def test_rolling_budget_window_ends_now(days: int) -> None:
    now = utc(2024, 6, 15, 12, 0)
    window = budget_window(_rolling(days), now, utc(2000, 1, 1))
    assert window.end == now
    assert window.start == now - timedelta(days=days)
    assert window.length == timedelta(days=days)


def test_rolling_budget_window_starts_at_the_last_reset() -> None:
    now = utc(2024, 6, 15, 12, 0)
    window = budget_window(_rolling(30), now, utc(2024, 6, 10))
    assert (window.start, window.end) == (utc(2024, 6, 10), now)


def test_rolling_window_across_dst_is_real_elapsed_time() -> None:
    # 2024-03-31 12:00 Berlin (CEST, +02) = 10:00Z. 7 days back in UTC: 2024-03-24 10:00Z,
    # which is 11:00 CET. Wall-clock arithmetic would wrongly give 12:00 CET = 11:00Z.
    now = datetime(2024, 3, 31, 12, 0, tzinfo=BERLIN)
    window = budget_window(_rolling(7), now, utc(2000, 1, 1))
    assert window.end == utc(2024, 3, 31, 10, 0)
    assert window.start == utc(2024, 3, 24, 10, 0)
    assert window.start.tzinfo is UTC


# ---------------------------------------------------------------------------- calendar


@pytest.mark.parametrize(
    ("now", "unit", "start", "end", "length"),
    [
        # March 2024 in Berlin loses an hour on 31 Mar (02:00 CET -> 03:00 CEST):
        # 1 Mar 00:00+01 = 29 Feb 23:00Z; 1 Apr 00:00+02 = 31 Mar 22:00Z; 31*24 - 1 = 743 h
        (utc(2024, 3, 15), "month", utc(2024, 2, 29, 23), utc(2024, 3, 31, 22), 743 * H),
        # October 2024 gains an hour on 27 Oct (03:00 CEST -> 02:00 CET):
        # 1 Oct 00:00+02 = 30 Sep 22:00Z; 1 Nov 00:00+01 = 31 Oct 23:00Z; 31*24 + 1 = 745 h
        (utc(2024, 10, 15), "month", utc(2024, 9, 30, 22), utc(2024, 10, 31, 23), 745 * H),
        # Leap February: 1 Feb 00:00+01 = 31 Jan 23:00Z; 1 Mar 00:00+01 = 29 Feb 23:00Z; 29 days
        (utc(2024, 2, 10), "month", utc(2024, 1, 31, 23), utc(2024, 2, 29, 23), 29 * D),
        # Week of Mon 25 Mar 2024 contains the spring change: 7*24 - 1 = 167 h
        (utc(2024, 3, 27), "week", utc(2024, 3, 24, 23), utc(2024, 3, 31, 22), 167 * H),
        # Q1 2024: 31 + 29 + 31 = 91 days, minus the spring hour = 91*24 - 1 = 2183 h
        (utc(2024, 2, 1), "quarter", utc(2023, 12, 31, 23), utc(2024, 3, 31, 22), 2183 * H),
        # Q4 2024 rolls into 2025: 31 + 30 + 31 = 92 days plus the autumn hour = 2209 h
        (utc(2024, 11, 15), "quarter", utc(2024, 9, 30, 22), utc(2024, 12, 31, 23), 2209 * H),
        # 31 Mar 2024 has 23 hours in Berlin: 30 Mar 23:00Z .. 31 Mar 22:00Z
        (utc(2024, 3, 31, 12), "day", utc(2024, 3, 30, 23), utc(2024, 3, 31, 22), 23 * H),
    ],
)
def test_berlin_calendar_windows(
    now: datetime, unit: CalendarUnit, start: datetime, end: datetime, length: timedelta
) -> None:
    window = calendar_window(now, unit, "Europe/Berlin")
    assert (window.start, window.end) == (start, end)
    assert window.length == length
    assert window.start <= now < window.end


def test_local_midnight_decides_the_month_not_utc() -> None:
    # 29 Feb 23:30Z is already 1 Mar 00:30 in Berlin -> March
    march = calendar_window(utc(2024, 2, 29, 23, 30), "month", BERLIN)
    assert march.start == utc(2024, 2, 29, 23)
    # 29 Feb 22:59:59Z is 23:59:59 on 29 Feb in Berlin -> February
    february = calendar_window(utc(2024, 2, 29, 22, 59, 59), "month", BERLIN)
    assert february.end == march.start


def test_month_in_new_york_across_fall_back() -> None:
    # Nov 2024: 1 Nov 00:00-04 = 04:00Z; 1 Dec 00:00-05 = 05:00Z; 30 days + 1 h
    window = calendar_window(utc(2024, 11, 20), "month", "America/New_York")
    assert (window.start, window.end) == (utc(2024, 11, 1, 4), utc(2024, 12, 1, 5))
    assert window.length == 30 * D + H


def test_day_starting_in_a_dst_gap_begins_when_the_gap_ends() -> None:
    # Santiago skips 2024-09-08 00:00 (-04 -> -03 at midnight): the day starts at 04:00Z,
    # i.e. 01:00 local, and ends 9 Sep 00:00-03 = 03:00Z, a 23-hour day.
    window = calendar_window(utc(2024, 9, 8, 12), "day", "America/Santiago")
    assert (window.start, window.end) == (utc(2024, 9, 8, 4), utc(2024, 9, 9, 3))
    assert window.length == 23 * H


@pytest.mark.parametrize(
    ("year", "days", "minutes"),
    [
        (2024, 29, 41.76),  # leap: 0.001 * 29 * 1440 = 0.001 * 41760 = 41.76 min
        (2023, 28, 40.32),  # 0.001 * 28 * 1440 = 40.32 min
        (2000, 29, 41.76),  # divisible by 400: leap
        (2100, 28, 40.32),  # divisible by 100 but not 400: not leap
    ],
)
def test_february_budget_uses_actual_length(year: int, days: int, minutes: float) -> None:
    window = calendar_window(utc(year, 2, 14), "month", "UTC")
    assert window.length == timedelta(days=days)
    assert budget_minutes(Objective(99.9), window.length) == pytest.approx(minutes)


def test_dst_month_budget_minutes() -> None:
    # March 2024 Berlin = 743 h = 44580 min -> 0.001 * 44580 = 44.58 min (not 44.64 for 31 d)
    window = calendar_window(utc(2024, 3, 10), "month", BERLIN)
    assert budget_minutes(Objective(99.9), window.length) == pytest.approx(44.58)


def test_week_starts_on_monday_at_local_midnight() -> None:
    monday = datetime(2024, 6, 10, 0, 0, tzinfo=BERLIN)  # a Monday
    assert calendar_window(monday, "week", BERLIN).start == monday
    sunday_night = datetime(2024, 6, 9, 23, 59, tzinfo=BERLIN)
    assert calendar_window(sunday_night, "week", BERLIN).end == monday


@pytest.mark.parametrize(
    ("now", "unit", "anchor", "start", "end"),
    [
        # Weeks from Wednesday 3 Jan 2024: Saturday 15 Jun is in the week from Wed 12 Jun.
        (utc(2024, 6, 15), "week", datetime(2024, 1, 3), utc(2024, 6, 12), utc(2024, 6, 19)),
        # Months from the 15th at 06:00 Berlin (CET, +01): 15 Feb 05:00Z .. 15 Mar 05:00Z.
        (
            utc(2024, 3, 10),
            "month",
            datetime(2024, 1, 15, 6),
            utc(2024, 2, 15, 5),
            utc(2024, 3, 15, 5),
        ),
        # Quarters from 1 Feb: Feb-Apr, May-Jul, ...; 15 Jun is in May-Jul.
        (utc(2024, 6, 15), "quarter", datetime(2024, 2, 1), utc(2024, 5, 1), utc(2024, 8, 1)),
        # An anchor in the future still fixes the phase: months from the 1st.
        (utc(2024, 6, 15), "month", datetime(2030, 1, 1), utc(2024, 6, 1), utc(2024, 7, 1)),
    ],
)
def test_calendar_window_follows_its_anchor(
    now: datetime, unit: CalendarUnit, anchor: datetime, start: datetime, end: datetime
) -> None:
    zone = "Europe/Berlin" if anchor.hour else "UTC"
    window = calendar_window(now, unit, zone, anchor)
    assert (window.start, window.end) == (start, end)


def test_calendar_window_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="must be timezone-aware"):
        calendar_window(datetime(2024, 1, 1), "month", BERLIN)
    with pytest.raises(ValueError, match="unknown IANA time zone 'Mars/Olympus'"):
        calendar_window(utc(2024, 1, 1), "month", "Mars/Olympus")
    with pytest.raises(ValueError, match="unknown calendar unit 'year'"):
        unit: Any = "year"
        calendar_window(utc(2024, 1, 1), unit, BERLIN)


def test_period_window_normalises_to_utc_and_validates() -> None:
    window = PeriodWindow(
        datetime(2024, 3, 30, 12, tzinfo=BERLIN), datetime(2024, 3, 31, 12, tzinfo=BERLIN)
    )
    assert window.start.tzinfo is UTC
    assert window.length == 23 * H  # the night lost an hour
    with pytest.raises(ValueError, match="must be after start"):
        PeriodWindow(utc(2024, 1, 2), utc(2024, 1, 1))
    with pytest.raises(ValueError, match="must be timezone-aware"):
        PeriodWindow(datetime(2024, 1, 1), utc(2024, 1, 2))


def test_resolve_zone_passes_tzinfo_through() -> None:
    assert resolve_zone(BERLIN) is BERLIN
    assert resolve_zone("Europe/Berlin") == BERLIN


ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Asia/Kolkata",
    "Pacific/Apia",  # skipped 30 Dec 2011 entirely
]
UNIT_LENGTHS: dict[CalendarUnit, tuple[timedelta, timedelta]] = {
    "day": (22 * H, 26 * H),
    "week": (7 * D - 2 * H, 7 * D + 2 * H),
    "month": (27 * D, 32 * D),
    "quarter": (88 * D, 93 * D),  # Feb 22 .. May 22 is 89 days, less a DST hour
}


@given(
    st.datetimes(
        min_value=datetime(2001, 1, 1),  # hypothesis bounds are naive by design
        max_value=datetime(2099, 12, 31),
        timezones=st.just(UTC),
    ),
    st.sampled_from(ZONES),
    st.sampled_from(list(UNIT_LENGTHS)),
    st.sampled_from([datetime(2024, 1, 1), datetime(2019, 5, 22, 7, 30), datetime(2040, 11, 28)]),
)
def test_calendar_windows_tile_time(
    now: datetime, zone: str, unit: CalendarUnit, anchor: datetime
) -> None:
    window = calendar_window(now, unit, zone, anchor)
    assert window.start <= now < window.end
    low, high = UNIT_LENGTHS[unit]
    assert low <= window.length <= high
    # The next period starts exactly where this one ends.
    following = calendar_window(window.end, unit, zone, anchor)
    assert following.start == window.end


def test_calendar_start_time_sets_the_budget_period() -> None:
    # OpenSLO calendar startTime 2024-01-15 00:00 (Berlin): months run from the 15th. On
    # 10 Mar 2026 the budget period is 15 Feb 00:00 CET (14 Feb 23:00Z) .. 15 Mar 00:00 CET,
    # 28 days long.
    defn = SLODefinition(
        service="checkout",
        name="availability",
        objective=99.9,
        indicator=PushedEvents(),
        window=CalendarWindow("month", "Europe/Berlin", datetime(2024, 1, 15)),
    )
    now = utc(2026, 3, 10, 12)
    window = budget_window(defn, now, utc(2000, 1, 1))
    assert (window.start, window.end) == (utc(2026, 2, 14, 23), now)
    assert period_length(defn, now) == 28 * D
