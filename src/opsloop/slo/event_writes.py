"""The statements that store pushed counts: minutes, hour and day roll-ups, push records.

Each is one statement however many rows it writes, built once, its rows sent without the ORM:
PostgreSQL gets one array per column (``unnest``, one round trip), SQLite a plain
``executemany`` of tuples, which its driver runs in C. Sent through the ORM's bulk insert, each
row cost a round of bind processing and parameter building in Python that took longer than
storing it; a bulk push of 100 SLOs spent most of its writer's time there.

The values are what the columns take: datetimes aware (UTC on SQLite, where they are written as
the column's text), integers and strings as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from opsloop.core.db import UTCDateTime


class RowWrite:
    """One statement in each dialect's form: PostgreSQL's takes one array per column (``:c0``,
    ``:c1``...), SQLite's one ``?`` per column and is run once per row by ``executemany``.
    ``times`` are the positions of the datetime columns. Without ``postgresql`` the write is
    SQLite's only (PostgreSQL does it as part of a larger statement)."""

    def __init__(self, *, postgresql: str | None, sqlite: str, times: tuple[int, ...]) -> None:
        self.postgresql = None if postgresql is None else text(postgresql)
        self.sqlite = sqlite
        self.times = times

    def run(self, session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        connection = session.connection()
        dialect = connection.dialect
        if dialect.name == "postgresql":
            if self.postgresql is None:
                raise RuntimeError("this write has no PostgreSQL form")
            connection.execute(self.postgresql, column_arrays(rows))
        else:
            connection.exec_driver_sql(self.sqlite, self._stored_times(rows, dialect))

    def _stored_times(
        self, rows: Sequence[tuple[Any, ...]], dialect: Dialect
    ) -> list[tuple[Any, ...]]:
        """Datetimes as the column stores them on SQLite (UTC text), each distinct one
        converted once: a group's rows share few minutes."""
        as_text = time_text(dialect)
        texts: dict[datetime, Any] = {}
        out = [list(row) for row in rows]
        for position in self.times:
            for row in out:
                value = row[position]
                found = texts.get(value)
                if found is None:
                    found = texts[value] = as_text(value)
                row[position] = found
        # Tuples: SQLAlchemy takes a list of tuples (not of lists) as an executemany.
        return [tuple(row) for row in out]


def column_arrays(rows: Sequence[tuple[Any, ...]], prefix: str = "c") -> dict[str, str]:
    """A PostgreSQL statement's parameters ``c0``, ``c1``... (or another ``prefix``): one array
    literal per column."""
    columns = zip(*rows, strict=True)
    return {f"{prefix}{i}": array_text(values) for i, values in enumerate(columns)}


def array_text(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal of integers, aware datetimes or strings (one type a column),
    for the statement to cast. Built with ``str.join``: psycopg's list dumper checked every
    element against a regular expression in Python, a fifth of a bulk push's writer time."""
    first = values[0]
    if isinstance(first, int):
        return "{" + ",".join(map(str, values)) + "}"
    if isinstance(first, datetime):
        # ISO 8601 with its offset: no character an array literal would need quoted.
        return "{" + ",".join(v.isoformat() for v in values) + "}"
    # Every string quoted (so that "NULL" or "" stay strings), its \ and " escaped.
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return '{"' + '","'.join(quoted) + '"}'


_TIME_TEXT: dict[str, Callable[[datetime], Any]] = {}


def time_text(dialect: Dialect) -> Callable[[datetime], Any]:
    """What a datetime column is given for a datetime (on SQLite its text), made once per
    dialect."""
    found = _TIME_TEXT.get(dialect.name)
    if found is None:
        processor = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        assert processor is not None
        found = _TIME_TEXT[dialect.name] = processor
    return found


#: SQLite: a minute's counts replace what was stored for it.
MINUTES = RowWrite(
    postgresql=None,
    sqlite="""
    INSERT INTO slo_event_buckets (slo_id, minute, good, total) VALUES (?, ?, ?, ?)
    ON CONFLICT (slo_id, minute) DO UPDATE SET good = excluded.good, total = excluded.total
    """,
    times=(1,),
)
#: PostgreSQL: what MINUTES, HOURS and DAYS do, with the stored counts read first, as one
#: statement. A group of pushes waits on the database once for its counts instead of four
#: times (read, upsert, two roll-ups), and the writer thread, which every push of the process
#: queues behind, spends that much less of each group waiting. Every part of one statement
#: reads the same snapshot, taken before its upsert, so ``changes`` are against the counts
#: stored before; the caller holds the SLOs' row locks (taken in an earlier statement: a lock
#: taken inside this one would not move its snapshot), so no other transaction changes those
#: minutes meanwhile. A minute sent again with the same counts changes no roll-up. The roll-up
#: rows are written in key order, as ``_add_to_rollup`` writes them on SQLite, so two groups
#: lock shared rows in one order.
_MINUTES_AND_ROLLUPS = """
    WITH k AS (
        SELECT * FROM unnest(
            CAST(:c0 AS integer[]), CAST(:c1 AS timestamptz[]),
            CAST(:c2 AS bigint[]), CAST(:c3 AS bigint[])
        ) AS k (slo_id, minute, good, total)
    ), changes AS (
        SELECT k.slo_id, k.minute,
            k.good - coalesce(b.good, 0) AS good, k.total - coalesce(b.total, 0) AS total
        FROM k LEFT JOIN slo_event_buckets AS b ON b.slo_id = k.slo_id AND b.minute = k.minute
        WHERE b.slo_id IS NULL OR b.good <> k.good OR b.total <> k.total
    ), minutes AS (
        INSERT INTO slo_event_buckets (slo_id, minute, good, total)
        SELECT slo_id, minute, good, total FROM k
        ON CONFLICT (slo_id, minute) DO UPDATE SET good = excluded.good, total = excluded.total
    ), hours AS (
        INSERT INTO slo_event_hours AS h (slo_id, hour, good, total)
        SELECT slo_id, date_trunc('hour', minute, 'UTC'), sum(good), sum(total)
        FROM changes GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (slo_id, hour)
        DO UPDATE SET good = h.good + excluded.good, total = h.total + excluded.total
    )%s
    INSERT INTO slo_event_days AS d (slo_id, day, good, total)
    SELECT slo_id, date_trunc('day', minute, 'UTC'), sum(good), sum(total)
    FROM changes GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (slo_id, day)
    DO UPDATE SET good = d.good + excluded.good, total = d.total + excluded.total
"""


#: PostgreSQL's insert of push records (``c0``...``c6``: one array a column).
_PUSHES_PG = """
    INSERT INTO slo_event_pushes
        (received_at, actor, request_id, minutes, first_minute, last_minute, slos)
    SELECT * FROM unnest(
        CAST(:c0 AS timestamptz[]), CAST(:c1 AS text[]), CAST(:c2 AS text[]),
        CAST(:c3 AS integer[]), CAST(:c4 AS timestamptz[]), CAST(:c5 AS timestamptz[]),
        CAST(:c6 AS text[])
    )
"""
MINUTES_AND_ROLLUPS_PG = text(_MINUTES_AND_ROLLUPS % "")
#: The same with the push records (PUSHES' rows, as ``p0``...``p6``) written by it too.
MINUTES_ROLLUPS_AND_PUSHES_PG = text(
    _MINUTES_AND_ROLLUPS % (", pushes AS (" + _PUSHES_PG.replace(":c", ":p") + ")")
)
#: SQLite: changes of good and total added to the hour roll-ups...
HOURS = RowWrite(
    postgresql=None,
    sqlite="""
    INSERT INTO slo_event_hours AS h (slo_id, hour, good, total) VALUES (?, ?, ?, ?)
    ON CONFLICT (slo_id, hour)
    DO UPDATE SET good = h.good + excluded.good, total = h.total + excluded.total
    """,
    times=(1,),
)
#: ...and to the day roll-ups.
DAYS = RowWrite(
    postgresql=None,
    sqlite="""
    INSERT INTO slo_event_days AS d (slo_id, day, good, total) VALUES (?, ?, ?, ?)
    ON CONFLICT (slo_id, day)
    DO UPDATE SET good = d.good + excluded.good, total = d.total + excluded.total
    """,
    times=(1,),
)
#: Who pushed what (opsloop.slo.models.EventPush), one row per push.
PUSHES = RowWrite(
    postgresql=_PUSHES_PG,
    sqlite="""
    INSERT INTO slo_event_pushes
        (received_at, actor, request_id, minutes, first_minute, last_minute, slos)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    """,
    times=(0, 4, 5),
)
