"""Pushed event counts: validation, idempotent ingestion and window sums.

Counts live in minute buckets with hour and day roll-ups kept in step (see
:class:`~opsloop.slo.models.EventBucket`); window sums are in :mod:`opsloop.slo.event_sums`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from sqlalchemy import BigInteger, Integer, text
from sqlalchemy.orm import Session

from opsloop.core.db import UTCDateTime, lock_rows
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
    session: Session,
    batches: Mapping[int, Sequence[MinuteCount]],
    *,
    locked: bool = False,
    records: Sequence[tuple[Any, ...]] = (),
) -> None:
    """Store counts per SLO, replacing minutes already stored, and add each minute's change to
    its hour and day roll-ups. Needs a data-plane write transaction
    (``Database.write(audited=False)``).

    On SQLite four statements for any number of SLOs and minutes: read the stored counts of the
    batch's minutes, upsert the minutes, add the differences to the hours, then to the days; on
    PostgreSQL one statement does all four (``event_writes.MINUTES_AND_ROLLUPS_PG``). A late
    minute costs what an in-order one does. ``locked``: the caller already holds the SLOs' row
    locks, taken as below. ``records``: rows of ``event_writes.PUSHES`` to write as well (on
    PostgreSQL by the same statement, a round trip fewer for every group of pushes).
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
        event_writes.PUSHES.run(session, records)
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        rows = [(slo_id, minute, good, total) for (slo_id, minute), (good, total) in latest.items()]
        params = event_writes.column_arrays(rows)
        statement = event_writes.MINUTES_AND_ROLLUPS_PG
        if records:
            params.update(event_writes.column_arrays(records, prefix="p"))
            statement = event_writes.MINUTES_ROLLUPS_AND_PUSHES_PG
        connection.execute(statement, params)
        return
    stored = _stored_counts(session, list(latest))
    _upsert_minutes(session, latest)
    hours: dict[tuple[int, datetime], list[int]] = {}
    days: dict[tuple[int, datetime], list[int]] = {}
    for (slo_id, minute), (good, total) in latest.items():
        old_good, old_total = stored.get((slo_id, minute), (0, 0))
        if (good, total) == (old_good, old_total):
            continue
        hour = minute.replace(minute=0)
        for sums, key in ((hours, (slo_id, hour)), (days, (slo_id, hour.replace(hour=0)))):
            change = sums.setdefault(key, [0, 0])
            change[0] += good - old_good
            change[1] += total - old_total
    _add_to_rollup(session, event_writes.HOURS, hours)
    _add_to_rollup(session, event_writes.DAYS, days)
    event_writes.PUSHES.run(session, records)


# SQLite (PostgreSQL reads the stored counts inside event_writes.MINUTES_AND_ROLLUPS_PG): the
# keys by primary key from one JSON array (SQLite has no arrays, and a list of
# ``(slo_id, minute)`` row values makes it scan the table).
_STORED_SQLITE = text(
    """
    SELECT b.slo_id, b.minute, b.good, b.total
    FROM json_each(:keys) AS k
    JOIN slo_event_buckets AS b
      ON b.slo_id = json_extract(k.value, '$[0]') AND b.minute = json_extract(k.value, '$[1]')
    """
).columns(slo_id=Integer(), minute=UTCDateTime(), good=BigInteger(), total=BigInteger())


def _stored_counts(
    session: Session, keys: list[tuple[int, datetime]]
) -> dict[tuple[int, datetime], tuple[int, int]]:
    # The minutes as the column stores them, so that they compare equal as text.
    stored_as = event_writes.time_text(session.get_bind().dialect)
    texts: dict[datetime, str] = {}  # a group's keys share few minutes
    for _, minute in keys:
        if minute not in texts:
            texts[minute] = stored_as(minute)
    params = {"keys": json.dumps([[slo_id, texts[minute]] for slo_id, minute in keys])}
    rows = session.connection().execute(_STORED_SQLITE, params)
    return {(slo_id, minute): (good, total) for slo_id, minute, good, total in rows}


def _upsert_minutes(session: Session, latest: dict[tuple[int, datetime], tuple[int, int]]) -> None:
    rows = [(slo_id, minute, good, total) for (slo_id, minute), (good, total) in latest.items()]
    event_writes.MINUTES.run(session, rows)


def _add_to_rollup(
    session: Session, write: event_writes.RowWrite, changes: dict[tuple[int, datetime], list[int]]
) -> None:
    # In key order: two transactions adding to the same rows lock them in the same order.
    rows = [(slo_id, at, good, total) for (slo_id, at), (good, total) in sorted(changes.items())]
    write.run(session, rows)


def window_counts(
    session: Session, slo_ids: Iterable[int], end: datetime, starts: Sequence[datetime]
) -> dict[int, list[EventCounts]]:
    """Good/total counts in ``[start, end)`` for every start, for each SLO."""
    return event_sums.window_counts(session, slo_ids, end, starts)
