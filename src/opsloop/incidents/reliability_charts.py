"""Trend charts of the reliability page: one figure (MTTR or MTBF, in hours) per week or month
as a server-side SVG, with the target drawn across. The scale's round levels come from the SLO
burn-down chart (:mod:`opsloop.slo.charts`), so both charts read alike."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from opsloop.slo.charts import WIDE, Frame, value_ticks

Point = tuple[str, float | None]  # (week or month label, hours; None: no value that period)


def _hours(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f} h".replace(",", "\u2009")
    return f"{value:g} h"


def trend_svg(
    title: str, points: Sequence[Point], target: float | None, frame: Frame = WIDE
) -> str:
    """A line through the periods' values (a gap where a period has none), the target as a
    dashed line, the period labels below (thinned to fit)."""
    f = frame
    known = [v for _, v in points if v is not None]
    high = max([*known, target or 0.0, 1.0]) * 1.1
    levels = value_ticks(0.0, high, f.max_value_ticks)
    high = max(high, levels[-1])
    left = max(f.left, round(0.62 * f.font * max(len(_hours(v)) for v in levels)) + 10)
    inner_w = f.width - left - f.right
    inner_h = f.height - f.top - f.bottom
    step = inner_w / max(len(points), 1)

    def x(index: int) -> float:
        return left + step * (index + 0.5)

    def y(value: float) -> float:
        return f.top + (high - value) / high * inner_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {f.width} {f.height}" '
        f'role="img" aria-label="{escape(title)}" class="burndown trend" font-size="{f.font}">'
    ]
    for level in levels:
        parts.append(
            f'<line x1="{left}" x2="{f.width - f.right}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
            'class="grid"/>'
            f'<text x="{left - 6}" y="{y(level) + f.font / 3:.1f}" text-anchor="end" '
            f'class="tick">{_hours(level)}</text>'
        )
    every = max(1, -(-len(points) // f.max_time_ticks))  # ceiling: at most max_time_ticks labels
    for index, (label, _) in enumerate(points):
        if index % every == 0:
            parts.append(
                f'<text x="{x(index):.1f}" y="{f.height - f.bottom + 18}" text-anchor="middle" '
                f'class="tick">{escape(label)}</text>'
            )
    if target is not None:
        parts.append(
            f'<line x1="{left}" x2="{f.width - f.right}" y1="{y(target):.1f}" '
            f'y2="{y(target):.1f}" class="now target" stroke-dasharray="6 4">'
            f"<title>target {_hours(target)}</title></line>"
        )
    segments: list[list[tuple[float, float]]] = [[]]
    for index, (_, value) in enumerate(points):
        if value is None:
            segments.append([])
        else:
            segments[-1].append((x(index), y(value)))
    for seg in segments:
        if len(seg) > 1:
            joined = " ".join(f"{px:.1f},{py:.1f}" for px, py in seg)
            parts.append(f'<polyline points="{joined}" class="line"/>')
        for px, py in seg:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" class="dot"/>')
    if not known:
        parts.append(
            f'<text x="{left + inner_w / 2}" y="{f.top + inner_h / 2}" text-anchor="middle" '
            f'class="empty">no value in this period</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
