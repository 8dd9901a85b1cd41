"""The pure parts of the reliability figures: week and month buckets, the trend chart and how
durations read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsloop.incidents.buckets import buckets
from opsloop.incidents.reliability_charts import trend_svg
from opsloop.incidents.reliability_out import human


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_iso_weeks_across_a_year_end_clipped_to_the_period() -> None:
    found = buckets(_at("2025-12-24T12:00"), _at("2026-01-07T00:00"), "week")
    assert [b.label for b in found] == ["2025-W52", "2026-W01", "2026-W02"]
    assert found[0].start == _at("2025-12-24T12:00")  # clipped: the week began on the 22nd
    assert found[1].start == _at("2025-12-29T00:00")  # ISO week 1 of 2026 starts in 2025
    assert found[-1].end == _at("2026-01-07T00:00") and found[-1].length == timedelta(days=2)


def test_months_in_utc() -> None:
    found = buckets(_at("2025-11-15T00:00"), _at("2026-02-01T00:00"), "month")
    assert [b.label for b in found] == ["2025-11", "2025-12", "2026-01"]
    assert [b.length.days for b in found] == [16, 31, 31]
    assert buckets(_at("2026-01-01T00:00"), _at("2026-01-01T00:00"), "month") == []
    with pytest.raises(ValueError):
        buckets(_at("2026-01-01T00:00"), _at("2026-02-01T00:00"), "year")


def test_trend_chart_draws_values_gaps_and_the_target() -> None:
    svg = trend_svg("MTTR <by month>", [("2026-01", 2.0), ("2026-02", None), ("2026-03", 6.0)], 4.0)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'aria-label="MTTR &lt;by month&gt;"' in svg
    assert svg.count('class="dot"') == 2 and "<polyline" not in svg  # the gap splits the line
    assert "<title>target 4 h</title>" in svg and ">2026-02<" in svg
    empty = trend_svg("MTBF", [("2026-01", None)], 720.0)
    assert "no value in this period" in empty


def test_durations_read_in_two_units() -> None:
    assert human(None) == "-"
    assert human(timedelta(0)) == "0 s"
    assert human(timedelta(seconds=40)) == "40 s"
    assert human(timedelta(hours=2, minutes=5, seconds=9)) == "2 h 5 min"
    assert human(timedelta(days=3, hours=4, minutes=1)) == "3 d 4 h"
