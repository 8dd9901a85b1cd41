"""Exact sums of pushed counts over time ranges, read from minute buckets and their hour and
day roll-ups (:class:`~opsloop.slo.models.EventBucket`, ``EventHour``, ``EventDay``).

A minute bucket is in ``[start, end)`` when ``start <= minute < end``. Every range of a call is
written as ``P(end) - P(start)``, where ``P(b)`` counts everything from a common origin up to
``b``: the whole days from the origin to the day nearest ``b``, then the whole hours from that
day to the hour nearest ``b``, then the minutes from that hour to ``b``, each of the last two
added or taken away depending on which side of ``b`` the rounding fell. Rounding to the
*nearest* hour and day (rather than down) reads at most 30 minute rows and 12 hour rows per
boundary. The days between boundaries are read once and shared: the ten ranges of an
evaluation, which all end at ``now``, read each day of the budget period once.

Everything is one statement for any number of SLOs and boundaries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, Table, bindparam, func, literal_column, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from opsloop.core.id_lists import among, ids_parameter
from opsloop.slo.math import EventCounts
from opsloop.slo.models import SLO, EventBucket, EventDay, EventHour

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

_LEVELS: dict[str, tuple[Table, str]] = {
    "minute": (EventBucket.__table__, "minute"),  # type: ignore[dict-item]
    "hour": (EventHour.__table__, "hour"),  # type: ignore[dict-item]
    "day": (EventDay.__table__, "day"),  # type: ignore[dict-item]
}

Term = tuple[int, int]  # (segment number, +1 or -1)


def ceil_minute(value: datetime) -> datetime:
    """The first minute bucket at or after ``value`` (buckets before it are before ``value``)."""
    value = value.astimezone(UTC)
    floor = value.replace(second=0, microsecond=0)
    return floor if floor == value else floor + MINUTE


def nearest_hour(value: datetime) -> datetime:
    floor = value.replace(minute=0, second=0, microsecond=0)
    return floor + HOUR if (value - floor) * 2 > HOUR else floor


def nearest_day(value: datetime) -> datetime:
    floor = value.replace(hour=0, minute=0, second=0, microsecond=0)
    return floor + DAY if (value - floor) * 2 > DAY else floor


@dataclass(frozen=True)
class Plan:
    """The ranges to sum (``segments``), and ``P`` at every point they join, built one step
    at a time: ``steps[k] = (earlier point, segment, sign)`` gives point ``k`` as the earlier
    point's value plus or minus the segment. ``points[i]`` is the point of boundary ``i``.

    Points of one level chain outwards from their parent (minutes from their nearest hour,
    hours from their nearest day, days from the earliest day), so no row is read twice."""

    segments: list[tuple[str, datetime, datetime]]
    steps: list[tuple[int, int, int]]
    points: list[int]


def plan(boundaries: Sequence[datetime]) -> Plan:
    minutes = [ceil_minute(boundary) for boundary in boundaries]
    hours = {nearest_hour(minute) for minute in minutes}
    days = sorted({nearest_day(hour) for hour in hours})
    segments: list[tuple[str, datetime, datetime]] = []
    steps: list[tuple[int, int, int]] = [(-1, -1, 0)]  # the origin: the earliest day
    point_at: dict[datetime, int] = {days[0]: 0}

    def chain(level: str, origin: datetime, children: Iterable[datetime]) -> None:
        later = sorted(c for c in children if c > origin)
        earlier = sorted((c for c in children if c < origin), reverse=True)
        for side, sign in ((later, 1), (earlier, -1)):
            previous = origin
            for child in side:
                if child not in point_at:
                    segments.append((level, min(previous, child), max(previous, child)))
                    steps.append((point_at[previous], len(segments) - 1, sign))
                    point_at[child] = len(steps) - 1
                previous = child

    chain("day", days[0], days)
    for day in days:
        chain("hour", day, [h for h in hours if nearest_day(h) == day])
    for hour in sorted(hours):
        chain("minute", hour, [m for m in set(minutes) if nearest_hour(m) == hour])
    return Plan(segments, steps, [point_at[minute] for minute in minutes])


def _statement(
    ids: list[int] | BindParameter[Any],
    segments: Sequence[tuple[str, Any, Any]],
    weights: list[dict[int, int]] | None = None,
) -> Any:
    """One row per SLO and segment read: the segment's number and sums, or with ``weights``
    (one map of segment to weight per output), the weighted sums as ``g_i`` and ``t_i``."""
    wanted = select(SLO.id).where(among(SLO.id, ids)).cte("wanted")

    def sums(number: int, good: Any, total: Any) -> list[Any]:
        if weights is None:
            return [literal_column(str(number)).label("segment"), good, total]
        columns = []
        for i, weight in enumerate(weights):
            factor = weight.get(number, 0)
            for kind, value in (("g", good), ("t", total)):
                column = value if factor == 1 else -value if factor == -1 else literal_column("0")
                columns.append(column.label(f"{kind}_{i}"))
        return columns

    # Every SLO that exists gets a row, with or without counts.
    zero: Any = literal_column("0")
    parts = [select(wanted.c.id.label("slo_id"), *sums(-1, zero, zero))]
    for number, (level, low, high) in enumerate(segments):
        table, key = _LEVELS[level]
        parts.append(
            select(
                table.c.slo_id,
                *sums(number, func.sum(table.c.good), func.sum(table.c.total)),
            )
            .where(
                table.c.slo_id.in_(select(wanted.c.id)),
                table.c[key] >= low,
                table.c[key] < high,
            )
            .group_by(table.c.slo_id)
        )
    return union_all(*parts)


def counts_before(
    session: Session, slo_ids: Iterable[int], boundaries: Sequence[datetime]
) -> dict[int, list[tuple[int, int]]]:
    """For each existing SLO, the (good, total) counted before each boundary from an origin
    shared by the boundaries of this call: only differences between them mean anything, and
    ``after[j] - after[i]`` is exactly the sum of the minute buckets in ``[b_i, b_j)``."""
    ids = sorted(set(slo_ids))
    if not ids:
        return {}
    layout = plan(boundaries)
    sums: dict[int, dict[int, tuple[int, int]]] = {}
    for slo_id, number, good, total in session.execute(_statement(ids, layout.segments)):
        sums.setdefault(slo_id, {})[number] = (int(good), int(total))
    out: dict[int, list[tuple[int, int]]] = {}
    for slo_id, found in sums.items():
        values: list[tuple[int, int]] = []
        for earlier, number, sign in layout.steps:
            good, total = values[earlier] if earlier >= 0 else (0, 0)
            more_good, more_total = found.get(number, (0, 0))
            values.append((good + sign * more_good, total + sign * more_total))
        out[slo_id] = [values[point] for point in layout.points]
    return out


def _path(layout: Plan, point: int) -> dict[int, int]:
    """The segments that make up a point's value, with their signs."""
    out: dict[int, int] = {}
    while point > 0:
        earlier, number, sign = layout.steps[point]
        out[number] = sign
        point = earlier
    return out


def window_counts(
    session: Session, slo_ids: Iterable[int], end: datetime, starts: Sequence[datetime]
) -> dict[int, list[EventCounts]]:
    """Good/total counts in ``[start, end)`` for every start, for each existing SLO; a start at
    or after ``end`` gives an empty window."""
    return {
        slo_id: [EventCounts(good=good, total=total) for good, total in sums]
        for slo_id, sums in window_sums(session, slo_ids, end, starts).items()
    }


def window_sums(
    session: Session, slo_ids: Iterable[int], end: datetime, starts: Sequence[datetime]
) -> dict[int, list[tuple[int, int]]]:
    """:func:`window_counts` as plain ``(good, total)`` pairs, for callers that read thousands.

    The database also does the additions: every segment's sums go into each window with a
    weight of -1, 0 or 1, so the answer is one row per SLO however many segments were read."""
    ids = sorted(set(slo_ids))
    if not ids:
        return {}
    layout = plan([end, *starts])
    to_end = _path(layout, layout.points[0])
    last = ceil_minute(end)
    weights = []
    for start, point in zip(starts, layout.points[1:], strict=True):
        to_start = _path(layout, point) if ceil_minute(start) < last else to_end
        weighted = {n: to_end.get(n, 0) - to_start.get(n, 0) for n in {*to_end, *to_start}}
        weights.append(tuple(sorted(weighted.items())))
    statement = _sums_statement(tuple(level for level, _, _ in layout.segments), tuple(weights))
    bounds: dict[str, Any] = {"slo_ids": ids}
    for number, (_, low, high) in enumerate(layout.segments):
        bounds[f"low_{number}"], bounds[f"high_{number}"] = low, high
    out: dict[int, list[tuple[int, int]]] = {}
    for slo_id, *values in session.execute(statement, bounds):
        out[slo_id] = [(int(values[2 * i]), int(values[2 * i + 1])) for i in range(len(starts))]
    return out


# Building the statement took 10 ms for the ranges of an evaluation, for each part of its SLOs.
# Its shape (the levels read and how each window adds them up) recurs every hour, and all
# else is a parameter: it is built once per shape and executed with the ids and bounds.
@lru_cache(maxsize=64)
def _sums_statement(
    levels: tuple[str, ...], weights: tuple[tuple[tuple[int, int], ...], ...]
) -> Select[Any]:
    segments: list[tuple[str, Any, Any]] = [
        (level, bindparam(f"low_{n}"), bindparam(f"high_{n}")) for n, level in enumerate(levels)
    ]
    parts = _statement(ids_parameter("slo_ids"), segments, [dict(w) for w in weights])
    summed = parts.subquery("parts")
    columns = [func.sum(summed.c[f"{kind}_{i}"]) for i in range(len(weights)) for kind in "gt"]
    return select(summed.c.slo_id, *columns).group_by(summed.c.slo_id)
