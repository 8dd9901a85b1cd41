"""Pushed event counts: validation, idempotent ingestion and window sums.

Counts live in minute buckets with hour and day roll-ups kept in step (see
:class:`~opsloop.slo.models.EventBucket`); window sums are in :mod:`opsloop.slo.event_sums`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from sqlalchemy.orm import Session

from opsloop.core.db import lock_rows
from opsloop.core.errors import ValidationFailed
from opsloop.slo import event_sums, event_writes
from opsloop.slo.math import EventCounts
from opsloop.slo.models import SLO

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
        # One test for the common case, a good event; only a bad one is looked at again to
        # say what is wrong with it. A whole minute is its own floor.
        if (
            timestamp.tzinfo is None
            or timestamp.second
            or timestamp.microsecond
            or not oldest <= timestamp <= now
            or not 0 <= good <= total
            or timestamp in seen
        ):
            _refuse(timestamp, good, total, now, oldest, f"{field}[{at[index]}]", field, at, seen)
        seen[timestamp] = index
        out.append(MinuteCount(timestamp, good, total))
    return sorted(out, key=lambda c: c.minute)


def _refuse(
    timestamp: datetime,
    good: int,
    total: int,
    now: datetime,
    oldest: datetime,
    where: str,
    field: str,
    at: Sequence[int],
    seen: dict[datetime, int],
) -> NoReturn:
    """The first problem of a bad event, checked in this order."""
    if timestamp.tzinfo is None:
        raise ValidationFailed(f"{where}.timestamp needs a time zone", field=f"{where}.timestamp")
    if timestamp.second or timestamp.microsecond:
        # Folding 08:00:30 into 08:00 would silently replace that minute's counts.
        raise ValidationFailed(
            f"{where}.timestamp must be a whole minute (counts are per minute), "
            f"got {timestamp.isoformat()}",
            field=f"{where}.timestamp",
        )
    if timestamp > now:
        raise ValidationFailed(
            f"{where}.timestamp is in the future ({timestamp.isoformat()})",
            field=f"{where}.timestamp",
        )
    if timestamp < oldest:
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
    raise ValidationFailed(
        f"{where}.timestamp falls in the same minute as {field}[{at[seen[timestamp]]}]; "
        "send one count per minute",
        field=f"{where}.timestamp",
    )


def ingest(
    session: Session, batches: Mapping[int, Sequence[MinuteCount]], *, locked: bool = False
) -> None:
    """Store counts per SLO, replacing minutes already stored, and add each minute's change to
    its hour and day roll-ups. Needs a data-plane write transaction
    (``Database.write(audited=False)``).

    One statement on PostgreSQL, three on SQLite, for any number of SLOs and minutes
    (:mod:`opsloop.slo.event_writes`): each minute's change from the counts stored before is
    added to its hour and its day, and the minute replaced. A late minute costs what an
    in-order one does. ``locked``: the caller already holds the SLOs' row
    locks, taken as below.
    """
    # Pushes to one SLO take turns: the stored counts are read and the roll-ups changed by the
    # difference, so two pushes of one minute must not both read the old counts. All the SLOs
    # of a batch are locked up front in id order (the lock order of opsloop.core.db), so
    # overlapping bulk pushes cannot each hold a row the other waits for.
    if not locked:
        lock_rows(session, SLO.id, batches)
    latest: dict[tuple[int, datetime], tuple[int, int]] = {}
    for slo_id in sorted(batches):
        for count in batches[slo_id]:
            # A minute named twice in one call (merged pushes): the later count wins, as if
            # the pushes had come one after the other.
            latest[(slo_id, count.minute.astimezone(UTC))] = (count.good, count.total)
    if not latest:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        rows = [(slo_id, minute, good, total) for (slo_id, minute), (good, total) in latest.items()]
        connection.execute(event_writes.MINUTES_AND_ROLLUPS_PG, event_writes.column_arrays(rows))
        return
    # The times as the columns store them, each distinct minute converted once.
    as_text = event_writes.time_text(connection.dialect)
    texts: dict[datetime, tuple[str, str, str]] = {}
    rows_json = []
    for (slo_id, minute), (good, total) in latest.items():
        found = texts.get(minute)
        if found is None:
            hour = minute.replace(minute=0)
            found = texts[minute] = (as_text(minute), as_text(hour), as_text(hour.replace(hour=0)))
        rows_json.append([slo_id, *found, good, total])
    params = {"rows": json.dumps(rows_json)}
    for statement in (*event_writes.ROLLUPS_SQLITE, event_writes.MINUTES_SQLITE):
        connection.execute(statement, params)


def window_counts(
    session: Session, slo_ids: Iterable[int], end: datetime, starts: Sequence[datetime]
) -> dict[int, list[EventCounts]]:
    """Good/total counts in ``[start, end)`` for every start, for each SLO."""
    return event_sums.window_counts(session, slo_ids, end, starts)
