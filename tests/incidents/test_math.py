"""Reliability figures, by hand and against a brute-force count of minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsloop.incidents.math import availability, durations, mtbf, outage, percentile

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_percentile_interpolates_like_percentile_cont() -> None:
    assert percentile([10.0], 0.9) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    # position 0.9 * 4 = 3.6: 40 + 0.6 * (50 - 40)
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 0.9) == pytest.approx(46.0)


def test_durations_leave_out_incidents_without_an_end() -> None:
    summary = durations([(at(0), at(30)), (at(0), at(90)), (at(0), None), (at(0), at(60))])
    assert summary.count == 3
    assert summary.mean == timedelta(minutes=60)
    assert summary.median == timedelta(minutes=60)
    assert summary.p90 == timedelta(minutes=84)  # 60 + 0.8 * 30
    assert durations([(at(0), None)]).mean is None


def test_outage_merges_overlaps_and_clips_to_the_period() -> None:
    intervals = [(at(-30), at(10)), (at(5), at(20)), (at(50), at(60)), (at(100), None)]
    assert outage(intervals, at(0), at(120)) == timedelta(minutes=20 + 10 + 20)


def test_mtbf_and_availability_over_a_30_day_month() -> None:
    month = timedelta(days=30)
    down = timedelta(hours=6)
    assert mtbf(month, down, 3) == timedelta(hours=(720 - 6) / 3)
    assert mtbf(month, down, 0) is None
    assert availability(month, down) == pytest.approx(1 - 6 / 720)


spans = st.lists(
    st.tuples(st.integers(-50, 200), st.one_of(st.none(), st.integers(0, 120))), max_size=12
)


@given(spans)
def test_outage_is_the_number_of_minutes_some_incident_covers(
    raw: list[tuple[int, int | None]],
) -> None:
    intervals = [(at(a), None if d is None else at(a + d)) for a, d in raw]
    start, end = 0, 180
    covered = {
        m for a, d in raw for m in range(max(a, start), min(end if d is None else a + d, end))
    }
    assert outage(intervals, at(start), at(end)) == timedelta(minutes=len(covered))
