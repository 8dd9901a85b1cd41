"""The burn-down SVG: the whole window with time ticks, a labelled scale below 0 % when the
budget is overspent, and labels that never overlap. Pure functions, hand-computed expectations."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from opsloop.slo.charts import NARROW, WIDE, Burndown, Frame, burndown_svg, time_ticks, value_ticks

START = datetime(2026, 10, 3, 9, 0, tzinfo=UTC)
END = START + timedelta(days=30)
TEXT = re.compile(r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)"[^>]*>([^<]*)</text>')


def _labels(svg: str) -> list[tuple[float, float, str, str]]:
    return [(float(x), float(y), a, t) for x, y, a, t in TEXT.findall(svg)]


def _y_labels(svg: str, frame: Frame) -> dict[str, float]:
    return {t: y for x, y, a, t in _labels(svg) if a == "end" and x < frame.left + 60 and "%" in t}


def test_value_ticks_are_round_and_few() -> None:
    assert value_ticks(0.0, 1.0, 6) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    # -898 % (a 99.9 % SLO after one minute at 1 % errors): steps of 200 % down to -1 000 %.
    assert value_ticks(-8.98, 1.0, 6) == [-10.0, -8.0, -6.0, -4.0, -2.0, 0.0]
    assert value_ticks(-0.3, 1.0, 5) == [-0.5, 0.0, 0.5, 1.0]


def test_time_ticks_cover_the_window_at_round_times() -> None:
    weekly = time_ticks(START, END, 8)
    assert weekly[0] == datetime(2026, 10, 5, tzinfo=UTC)  # the first Monday in the window
    assert [b - a for a, b in itertools.pairwise(weekly)] == [timedelta(days=7)] * 4
    assert all(START <= t <= END for t in weekly)
    hourly = time_ticks(START, START + timedelta(hours=6), 8)
    assert hourly[0] == START and hourly[-1] == START + timedelta(hours=6)
    assert len(hourly) == 7


@pytest.mark.parametrize("frame", [WIDE, NARROW])
def test_a_blown_budget_extends_the_scale_below_zero_with_labels(frame: Frame) -> None:
    now = END - timedelta(days=1)
    points = [(now - timedelta(minutes=2), -8.5), (now, -8.98)]
    chart = Burndown(
        START, END, now, [(START + timedelta(days=i), None) for i in range(3)] + points
    )

    svg = burndown_svg(chart, frame)

    labels = _y_labels(svg, frame)
    assert "0%" in labels and "100%" in labels
    assert "-1\u2009000%" in labels  # the bottom of the scale, below the lowest value
    assert 'class="grid zero"' in svg
    ys = sorted(labels.values())
    assert all(b - a >= frame.font for a, b in itertools.pairwise(ys)), labels
    # The latest value (-898 %) sits between the two lowest grid lines.
    last = re.findall(r'class="dot last"', svg)
    assert last
    cy = float(re.search(r'cy="([\d.]+)" r="4"', svg).group(1))  # type: ignore[union-attr]
    assert ys[-2] < cy < ys[-1] == labels["-1\u2009000%"]


@pytest.mark.parametrize("frame", [WIDE, NARROW])
def test_the_x_axis_is_the_whole_window_and_labels_do_not_overlap(frame: Frame) -> None:
    now = START + timedelta(days=2)  # two days into a calendar month: most of it is future
    chart = Burndown(START, END, now, [(START + timedelta(hours=h), 0.9) for h in range(1, 49)])

    svg = burndown_svg(chart, frame)

    bottom = frame.height - frame.bottom + 18
    x_labels = sorted((x, a, t) for x, y, a, t in _labels(svg) if y == bottom)
    assert 2 <= len(x_labels) <= frame.max_time_ticks
    assert x_labels[0][2] == "Oct 05"
    width = 0.62 * frame.font * max(len(t) for _, _, t in x_labels)
    xs = [x for x, _, _ in x_labels]
    assert all(b - a > width for a, b in itertools.pairwise(xs))
    assert all(x - (width if a == "end" else 0) >= 0 for x, a, _ in x_labels)
    assert all(x + (width if a == "start" else 0) <= frame.width for x, a, _ in x_labels)
    # The data ends at "now", about 2/30 of the way across; the rest of the window is empty.
    line = re.search(r'<polyline points="([^"]+)"', svg)
    assert line
    last_x = float(line.group(1).split()[-1].split(",")[0])
    plot_left = float(re.search(r'<line x1="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    plot_w = frame.width - frame.right - plot_left
    assert last_x == pytest.approx(plot_left + plot_w * 2 / 30, abs=0.2)
    assert 'class="now"' in svg


def test_no_data_says_so() -> None:
    svg = burndown_svg(Burndown(START, END, END, [(END, None)]))
    assert "no data in this period" in svg
    assert "<polyline" not in svg
