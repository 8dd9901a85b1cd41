"""A server-side SVG bar chart with a highlighted part per bar (e.g. alerts fired per day, the
actionable ones in front): no JavaScript, nothing fetched from elsewhere, readable without CSS
through its <title> elements and a table beside it on every page that uses it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

_STEPS = [m * 10**k for k in range(0, 9) for m in (1, 2, 5)]


@dataclass(frozen=True)
class Bar:
    label: str
    total: int
    part: int  # drawn over the total, from the bottom


def count_ticks(high: int, most: int = 5) -> list[int]:
    """0 and round counts up to at least ``high``, at most ``most`` + 1 of them."""
    for step in _STEPS:
        if math.ceil(max(high, 1) / step) <= most:
            return [i * step for i in range(math.ceil(max(high, 1) / step) + 1)]
    return [0, high]


def bar_chart_svg(
    bars: Sequence[Bar],
    *,
    title: str,
    total_name: str,
    part_name: str,
    width: int = 720,
    height: int = 220,
) -> str:
    left, right, top, bottom = 44, 12, 12, 40
    inner_w, inner_h = width - left - right, height - top - bottom
    ticks = count_ticks(max((b.total for b in bars), default=0))
    high = ticks[-1] or 1
    slot = inner_w / max(len(bars), 1)
    bar_w = max(slot * 0.7, 1.0)
    label_every = max(1, math.ceil(len(bars) / 14))

    def y(value: int) -> float:
        return top + inner_h * (1 - value / high)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bars" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in ticks:
        parts.append(
            f'<line class="gridline" x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}"/><text class="tick" x="{left - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick}</text>'
        )
    for i, bar in enumerate(bars):
        x = left + i * slot + (slot - bar_w) / 2
        tip = f"{bar.label}: {bar.total} {total_name}, {bar.part} {part_name}"
        parts.append(
            f"<g><title>{escape(tip)}</title>"
            f'<rect class="bar-total" x="{x:.1f}" y="{y(bar.total):.1f}" width="{bar_w:.1f}" '
            f'height="{inner_h * bar.total / high:.1f}"/>'
            f'<rect class="bar-part" x="{x:.1f}" y="{y(bar.part):.1f}" width="{bar_w:.1f}" '
            f'height="{inner_h * bar.part / high:.1f}"/></g>'
        )
        if i % label_every == 0:
            parts.append(
                f'<text class="tick" x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{escape(bar.label)}</text>'
            )
    legend_y = height - 6
    parts.append(
        f'<rect class="bar-total" x="{left}" y="{legend_y - 9}" width="10" height="10"/>'
        f'<text class="tick" x="{left + 14}" y="{legend_y}">{escape(total_name)}</text>'
        f'<rect class="bar-part" x="{left + 120}" y="{legend_y - 9}" width="10" height="10"/>'
        f'<text class="tick" x="{left + 134}" y="{legend_y}">{escape(part_name)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
