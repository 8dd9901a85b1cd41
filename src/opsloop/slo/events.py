"""Pushed event counts: validation, idempotent ingestion and window sums.

Counts live in minute buckets with running totals (see :class:`EventBucket`). Sums over a
window are ``C(<end) - C(<start)`` where ``C(<t)`` is the running total of the newest bucket
before ``t``: two index seeks per window and SLO, done by the database in one statement for
any number of SLOs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from opsloop.core.db import UTCDateTime, lock_rows, upsert_for
from opsloop.core.errors import ValidationFailed
from opsloop.slo.math import EventCounts
from opsloop.slo.models import SLO, EventBucket

MAX_BATCH = 10_000


@dataclass(frozen=True)
class MinuteCount:
    minute: datetime
    good: int
    total: int


def floor_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def validate_batch(
    events: Sequence[tuple[datetime, int, int]],
    *,
    now: datetime,
    oldest: datetime,
    field: str = "events",
    positions: Sequence[int] | None = None,
) -> list[MinuteCount]:
    """Check a whole batch before anything is written; the first problem names its field.

    An event's field is named by its index in the batch, or by ``positions[index]`` if given.
    """
    at = positions if positions is not None else range(len(events))
    if not events:
        raise ValidationFailed("a batch needs at least one event", field=field)
    if len(events) > MAX_BATCH:
        raise ValidationFailed(f"at most {MAX_BATCH} events per batch", field=field)
    seen: dict[datetime, int] = {}
    out = []
    for index, (timestamp, good, total) in enumerate(events):
        where = f"{field}[{at[index]}]"
        if timestamp.tzinfo is None:
            raise ValidationFailed(
                f"{where}.timestamp needs a time zone", field=f"{where}.timestamp"
            )
        if timestamp.second or timestamp.microsecond:
            # Folding 08:00:30 into 08:00 would silently replace that minute's counts.
            raise ValidationFailed(
                f"{where}.timestamp must be a whole minute (counts are per minute), "
                f"got {timestamp.isoformat()}",
                field=f"{where}.timestamp",
            )
        minute = floor_minute(timestamp)
        if minute > now:
            raise ValidationFailed(
                f"{where}.timestamp is in the future ({timestamp.isoformat()})",
                field=f"{where}.timestamp",
            )
        if minute < oldest:
            raise ValidationFailed(
                f"{where}.timestamp is older than the SLO window (before {oldest.isoformat()})",
                field=f"{where}.timestamp",
            )
        if good < 0 or total < 0:
            name = "good" if good < 0 else "total"
            raise ValidationFailed(f"{where}.{name} must not be negative", field=f"{where}.{name}")
        if good > total:
            raise ValidationFailed(
                f"{where}.good ({good}) is more than total ({total})", field=f"{where}.good"
            )
        if minute in seen:
            raise ValidationFailed(
                f"{where}.timestamp falls in the same minute as {field}[{at[seen[minute]]}]; "
                "send one count per minute",
                field=f"{where}.timestamp",
            )
        seen[minute] = index
        out.append(MinuteCount(minute, good, total))
    return sorted(out, key=lambda c: c.minute)


_RECOMPUTE = text(
    """
    UPDATE slo_event_buckets
    SET cum_good = running.cum_good, cum_total = running.cum_total
    FROM (
        SELECT minute,
               :base_good + SUM(good) OVER (ORDER BY minute ROWS UNBOUNDED PRECEDING) AS cum_good,
               :base_total + SUM(total) OVER (ORDER BY minute ROWS UNBOUNDED PRECEDING) AS cum_total
        FROM slo_event_buckets
        WHERE slo_id = :slo_id AND minute >= :first
    ) AS running
    WHERE slo_event_buckets.slo_id = :slo_id AND slo_event_buckets.minute = running.minute
    """
).bindparams(bindparam("first", type_=UTCDateTime()))


def ingest(session: Session, batches: Mapping[int, Sequence[MinuteCount]]) -> None:
    """Store counts per SLO (replacing minutes already stored) and bring running totals up to
    date. Needs a data-plane write transaction (``Database.write(audited=False)``)."""
    # Pushes to one SLO take turns: the running totals are read and then rewritten. All the
    # SLOs of a batch are locked up front in id order (the lock order of opsloop.core.db), so
    # overlapping bulk pushes cannot each hold a row the other waits for.
    lock_rows(session, SLO.id, batches)
    for slo_id in sorted(batches):
        _ingest_one(session, slo_id, batches[slo_id])


def _ingest_one(session: Session, slo_id: int, counts: Sequence[MinuteCount]) -> None:
    insert = upsert_for(session)
    rows = [
        {
            "slo_id": slo_id,
            "minute": c.minute,
            "good": c.good,
            "total": c.total,
            "cum_good": 0,
            "cum_total": 0,
        }
        for c in counts
    ]
    # One statement with the rows as parameters (not rendered into it): compiled once and
    # cached, sent in batches by the driver.
    statement = insert(EventBucket)
    statement = statement.on_conflict_do_update(
        index_elements=["slo_id", "minute"],
        set_={"good": statement.excluded.good, "total": statement.excluded.total},
    )
    session.execute(statement, rows)
    first = counts[0].minute
    base = running_totals(session, [slo_id], [first]).get(slo_id, [(0, 0)])[0]
    session.execute(
        _RECOMPUTE,
        {"base_good": base[0], "base_total": base[1], "slo_id": slo_id, "first": first},
    )


def running_totals(
    session: Session, slo_ids: Iterable[int], boundaries: Sequence[datetime]
) -> dict[int, list[tuple[int, int]]]:
    """For each SLO, the running (good, total) before each boundary, in one statement."""
    ids = list(slo_ids)
    if not ids:
        return {}
    columns = []
    for boundary in boundaries:
        for running in (EventBucket.cum_good, EventBucket.cum_total):
            newest_before = (
                select(running)
                .where(EventBucket.slo_id == SLO.id, EventBucket.minute < boundary)
                .order_by(EventBucket.minute.desc())
                .limit(1)
                .scalar_subquery()
            )
            columns.append(newest_before)
    statement = select(SLO.id, *columns).where(SLO.id.in_(ids))
    result: dict[int, list[tuple[int, int]]] = {}
    for row in session.execute(statement):
        values = list(row)[1:]
        result[row[0]] = [
            (int(values[2 * i] or 0), int(values[2 * i + 1] or 0)) for i in range(len(boundaries))
        ]
    return result


def window_counts(
    session: Session, slo_ids: Iterable[int], end: datetime, starts: Sequence[datetime]
) -> dict[int, list[EventCounts]]:
    """Good/total counts in ``[start, end)`` for every start, for each SLO."""
    totals = running_totals(session, slo_ids, [end, *starts])
    out: dict[int, list[EventCounts]] = {}
    for slo_id, values in totals.items():
        end_good, end_total = values[0]
        out[slo_id] = [
            EventCounts(good=end_good - good, total=end_total - total) for good, total in values[1:]
        ]
    return out
