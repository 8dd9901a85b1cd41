"""The DORA page's charts, drawn on the server as SVG like the rest of opsloop's charts: changes
finished and deployed per week (bars), and the lead-time and change-failure-rate trends (a line
per week, broken where a week has no value). Each has a <title> per point and the page shows
the same numbers in a table."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from opsloop.changes.dora import DoraRow
from opsloop.web.bars import Bar, bar_chart_svg


def deployments_chart(weeks: Sequence[DoraRow]) -> str:
    # Month and day only: fourteen full dates under fourteen bars run into each other.
    bars = [Bar(w.group[5:], w.finished, w.deployments) for w in weeks]
    return bar_chart_svg(
        bars, title="Changes finished and deployed per week", total_name="finished",
        part_name="deployed",
    )  # fmt: skip


def _nice_top(high: float) -> float:
    if high <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(high))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= high:
            return step * power
    return 10 * power


def trend_svg(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    shown: Callable[[float], str],
    width: int = 720,
    height: int = 200,
) -> str:
    """A line over weekly values, with four gridlines labelled by ``shown``."""
    left, right, top, bottom = 56, 12, 12, 28
    inner_w, inner_h = width - left - right, height - top - bottom
    top_value = _nice_top(max((v for _, v in points if v is not None), default=0.0))
    slot = inner_w / max(len(points), 1)
    label_every = max(1, math.ceil(len(points) / 12))

    def x(i: int) -> float:
        return left + slot * (i + 0.5)

    def y(value: float) -> float:
        return top + inner_h * (1 - value / top_value)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trend" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for step in range(5):
        level = top_value * step / 4
        parts.append(
            f'<line class="gridline" x1="{left}" x2="{width - right}" y1="{y(level):.1f}" '
            f'y2="{y(level):.1f}"/><text class="tick" x="{left - 6}" y="{y(level) + 4:.1f}" '
            f'text-anchor="end">{escape(shown(level))}</text>'
        )
    segment: list[str] = []
    for i, (label, value) in enumerate(points):
        if value is None:
            if len(segment) > 1:
                parts.append(f'<polyline class="line" points="{" ".join(segment)}"/>')
            segment = []
        else:
            segment.append(f"{x(i):.1f},{y(value):.1f}")
            parts.append(
                f"<g><title>{escape(f'{label}: {shown(value)}')}</title>"
                f'<circle class="dot" cx="{x(i):.1f}" cy="{y(value):.1f}" r="3"/></g>'
            )
        if i % label_every == 0:
            parts.append(
                f'<text class="tick" x="{x(i):.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    if len(segment) > 1:
        parts.append(f'<polyline class="line" points="{" ".join(segment)}"/>')
    if all(v is None for _, v in points):
        parts.append(
            f'<text class="tick" x="{width / 2:.0f}" y="{height / 2:.0f}" '
            f'text-anchor="middle">no data in this period</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def lead_time_chart(weeks: Sequence[DoraRow]) -> str:
    # In hours or days, whichever keeps the gridlines at round values of the unit shown.
    longest = max((w.lead_time_median or 0.0 for w in weeks), default=0.0)
    size, unit = (3600.0, "h") if longest < 4 * 86400 else (86400.0, "d")
    points = [
        (w.group[5:], None if w.lead_time_median is None else w.lead_time_median / size)
        for w in weeks
    ]
    return trend_svg(points, title="Median lead time per week", shown=lambda v: f"{v:g} {unit}")


def failure_rate_chart(weeks: Sequence[DoraRow]) -> str:
    points = [(w.group[5:], w.failure_rate) for w in weeks]
    return trend_svg(points, title="Change failure rate per week", shown=percent)
