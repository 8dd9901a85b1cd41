"""The error-budget burn-down: budget remaining across the current period, as data and as a
server-side SVG (no JavaScript charting library, nothing fetched from elsewhere)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsloop.core.clock import MINUTE
from opsloop.slo import event_sums
from opsloop.slo import service as slo_service
from opsloop.slo.math import NoData, Objective
from opsloop.slo.models import SLO, EventBucket
from opsloop.slo.periods import calendar_window
from opsloop.slo.prometheus import PrometheusClient
from opsloop.slo.rules import error_ratio_expr
from opsloop.slo.spec import CalendarWindow
from opsloop.slo.status import budget_window

PUSH_POINTS = 120
PROMETHEUS_POINTS = 30  # one instant query each: kept small so the page stays quick

Point = tuple[datetime, float | None]


@dataclass(frozen=True)
class Burndown:
    """The points, and the whole window they belong in (a calendar period runs past now)."""

    start: datetime
    end: datetime
    now: datetime
    points: list[Point]


def burndown_chart(
    session: Session, slo: SLO, now: datetime, prometheus: PrometheusClient | None
) -> Burndown:
    window = slo_service.definition(slo).window
    if isinstance(window, CalendarWindow):
        period = calendar_window(now, window.unit, window.time_zone)
        start, end = period.start, period.end
    else:
        start, end = now - window.duration, now
    return Burndown(start, end, now, burndown(session, slo, now, prometheus))


def burndown(
    session: Session, slo: SLO, now: datetime, prometheus: PrometheusClient | None
) -> list[Point]:
    defn = slo_service.definition(slo)
    period = budget_window(defn, now, slo.period_started_at)
    budget = Objective(defn.objective).error_budget
    count = PUSH_POINTS if slo.source == "push" else PROMETHEUS_POINTS
    start = period.start
    if slo.source == "push":
        # Start where the data starts: a month-wide chart of one hour of data shows nothing.
        first = session.scalar(
            select(func.min(EventBucket.minute)).where(
                EventBucket.slo_id == slo.id, EventBucket.minute >= period.start
            )
        )
        start = first or period.start
    span = now - start
    if span <= timedelta():
        return []
    times = [start + span * (i + 1) / count for i in range(count)]
    if slo.source == "push":
        # Exact counts from the period start to every point, in one statement.
        totals = event_sums.counts_before(session, [slo.id], [period.start, *times]).get(slo.id)
        if not totals:
            return [(t, None) for t in times]
        (good0, total0), rest = totals[0], totals[1:]
        points: list[Point] = []
        for at, (good, total) in zip(times, rest, strict=True):
            seen = total - total0
            bad = seen - (good - good0)
            points.append((at, 1 - (bad / seen) / budget if seen else None))
        return points
    if prometheus is None:
        return [(t, None) for t in times]
    points = []
    for at in times:
        window = max(MINUTE, (at - period.start) // MINUTE * MINUTE)
        ratio = prometheus.instant(error_ratio_expr(defn, window), at)
        points.append((at, None if isinstance(ratio, NoData) else 1 - ratio / budget))
    return points


@dataclass(frozen=True)
class Frame:
    """Where the plot sits inside the SVG, and how big its text is."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    font: int
    max_time_ticks: int
    max_value_ticks: int


WIDE = Frame(720, 260, 56, 16, 14, 30, 12, 8, 6)
NARROW = Frame(360, 260, 50, 12, 14, 30, 12, 4, 5)

_VALUE_STEPS = [m * 10.0**k for k in range(-2, 7) for m in (1.0, 2.0, 2.5, 5.0)]
_TIME_STEPS = [
    timedelta(minutes=m) for m in (10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160)
]


def value_ticks(low: float, high: float, most: int) -> list[float]:
    """Round levels (fractions of the budget) from below ``low`` up to ``high``, at most
    ``most`` of them; the top of the plot is ``high`` itself, so none is drawn above it."""
    for step in _VALUE_STEPS:
        first = math.floor(low / step + 1e-9)
        last = math.floor(high / step + 1e-9)
        if last - first + 1 <= most:
            return [round(i * step, 10) for i in range(first, last + 1)]
    return [low, high]


def time_ticks(start: datetime, end: datetime, most: int) -> list[datetime]:
    span = end - start
    step = next((s for s in _TIME_STEPS if span / s <= most), _TIME_STEPS[-1])
    while span / step > most:
        step *= 2
    epoch = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday: week steps fall on Mondays
    first = epoch + math.ceil((start - epoch) / step) * step
    ticks = []
    at = first
    while at <= end:
        ticks.append(at)
        at += step
    return ticks


def _time_label(at: datetime, step_days: bool) -> str:
    return f"{at:%b %d}" if step_days else f"{at:%d %H:%M}"


def _percent(value: float) -> str:
    return f"{value * 100:,.0f}%".replace(",", "\u2009")  # thin space: 1 000%


def burndown_svg(chart: Burndown, frame: Frame = WIDE) -> str:
    """Budget remaining across the whole window: 100 % at the top, the 0 % line marked, and the
    scale extended below it when the budget is overspent."""
    f = frame
    inner_h = f.height - f.top - f.bottom
    known = [v for _, v in chart.points if v is not None]
    high = max([1.0, *known])
    levels = value_ticks(min([0.0, *known]), high, f.max_value_ticks)
    low = levels[0]
    if 1.0 not in levels and (1.0 - levels[-1]) / (high - low) * inner_h >= 1.5 * f.font:
        levels.append(1.0)  # 100 % is where every period starts: label it whenever it fits
    # Room for the longest value label ("-1 000%"), so it is never cut off at the left edge.
    left = max(f.left, round(0.62 * f.font * max(len(_percent(v)) for v in levels)) + 10)
    inner_w = f.width - left - f.right
    span = (chart.end - chart.start).total_seconds() or 1.0

    def x(at: datetime) -> float:
        offset = (at - chart.start).total_seconds() / span
        return left + min(max(offset, 0.0), 1.0) * inner_w

    def y(value: float) -> float:
        return f.top + (high - value) / (high - low) * inner_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {f.width} {f.height}" '
        f'role="img" aria-label="Error budget remaining from {chart.start:%Y-%m-%d %H:%M} to '
        f'{chart.end:%Y-%m-%d %H:%M} UTC" class="burndown" font-size="{f.font}">'
    ]
    for level in levels:
        kind = " zero" if level == 0 else ""
        parts.append(
            f'<line x1="{left}" x2="{f.width - f.right}" y1="{y(level):.1f}" '
            f'y2="{y(level):.1f}" class="grid{kind}"/>'
            f'<text x="{left - 6}" y="{y(level) + f.font / 3:.1f}" text-anchor="end" '
            f'class="tick{kind}">{_percent(level)}</text>'
        )
    ticks = time_ticks(chart.start, chart.end, f.max_time_ticks)
    whole_days = len(ticks) < 2 or (ticks[1] - ticks[0]) >= timedelta(days=1)
    for at in ticks:
        px = x(at)
        # Keep the outermost labels inside the picture.
        anchor = "start" if px - left < 24 else "end" if f.width - f.right - px < 24 else "middle"
        parts.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{f.top}" y2="{f.height - f.bottom + 4}" '
            f'class="grid time"/>'
            f'<text x="{px:.1f}" y="{f.height - f.bottom + 18}" text-anchor="{anchor}" '
            f'class="tick">{_time_label(at, whole_days)}</text>'
        )
    if chart.start < chart.now < chart.end:
        parts.append(
            f'<line x1="{x(chart.now):.1f}" x2="{x(chart.now):.1f}" y1="{f.top}" '
            f'y2="{f.height - f.bottom}" class="now"/>'
        )
    parts.extend(_line(chart.points, x, y))
    if not known:
        parts.append(
            f'<text x="{left + inner_w / 2}" y="{f.top + inner_h / 2}" text-anchor="middle" '
            f'class="empty">{escape("no data in this period")}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _line(
    points: list[Point],
    x: Callable[[datetime], float],
    y: Callable[[float], float],
) -> list[str]:
    segments: list[list[str]] = [[]]
    for at, value in points:
        if value is None:
            segments.append([])
        else:
            segments[-1].append(f"{x(at):.1f},{y(value):.1f}")
    out = []
    for seg in segments:
        if len(seg) > 1:
            out.append(f'<polyline points="{" ".join(seg)}" class="line"/>')
        elif len(seg) == 1:
            cx, cy = seg[0].split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" class="dot"/>')
    last = next((p for p in reversed(points) if p[1] is not None), None)
    if last is not None and last[1] is not None:
        # Marks the latest value even when the data so far spans less than a pixel.
        out.append(f'<circle cx="{x(last[0]):.1f}" cy="{y(last[1]):.1f}" r="4" class="dot last"/>')
    return out
