"""The error-budget burn-down: budget remaining across the current period, as data and as a
server-side SVG (no JavaScript charting library, nothing fetched from elsewhere)."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsloop.core.clock import MINUTE
from opsloop.slo import events
from opsloop.slo import service as slo_service
from opsloop.slo.math import NoData, Objective
from opsloop.slo.models import SLO, EventBucket
from opsloop.slo.prometheus import PrometheusClient
from opsloop.slo.rules import error_ratio_expr
from opsloop.slo.status import budget_window

PUSH_POINTS = 120
PROMETHEUS_POINTS = 30  # one instant query each: kept small so the page stays quick

Point = tuple[datetime, float | None]


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
        totals = events.running_totals(session, [slo.id], [period.start, *times]).get(slo.id)
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


def burndown_svg(points: list[Point], width: int = 720, height: int = 220) -> str:
    """A line of budget remaining (100 % at the top, 0 % marked, overspend below it)."""
    pad_left, pad_right, pad_top, pad_bottom = 44, 10, 10, 24
    known = [v for _, v in points if v is not None]
    low = min([0.0, *known])
    high = max([1.0, *known])
    inner_w, inner_h = width - pad_left - pad_right, height - pad_top - pad_bottom

    def y(value: float) -> float:
        return pad_top + (high - value) / (high - low) * inner_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="Error budget remaining over the period" class="burndown">'
    ]
    for level in (1.0, 0.5, 0.0):
        parts.append(
            f'<line x1="{pad_left}" x2="{width - pad_right}" y1="{y(level):.1f}" '
            f'y2="{y(level):.1f}" class="grid{" zero" if level == 0 else ""}"/>'
            f'<text x="{pad_left - 6}" y="{y(level) + 4:.1f}" text-anchor="end">'
            f"{level:.0%}</text>"
        )
    segment: list[str] = []
    segments: list[list[str]] = [segment]
    for i, (_, value) in enumerate(points):
        if value is None:
            segment = []
            segments.append(segment)
            continue
        x = pad_left + (i + 1) / max(len(points), 1) * inner_w
        segment.append(f"{x:.1f},{y(value):.1f}")
    for seg in segments:
        if len(seg) > 1:
            parts.append(f'<polyline points="{" ".join(seg)}" class="line"/>')
        elif len(seg) == 1:
            cx, cy = seg[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2" class="dot"/>')
    if not known:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="empty">'
            f"{escape('no data in this period')}</text>"
        )
    if points:
        first, last = points[0][0], points[-1][0]
        parts.append(
            f'<text x="{pad_left}" y="{height - 6}">{first:%Y-%m-%d %H:%M}</text>'
            f'<text x="{width - pad_right}" y="{height - 6}" text-anchor="end">'
            f"{last:%Y-%m-%d %H:%M} UTC</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
