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
    ``times`` are the positions of the datetime columns."""

    def __init__(self, *, postgresql: str, sqlite: str, times: tuple[int, ...]) -> None:
        self.postgresql = text(postgresql)
        self.sqlite = sqlite
        self.times = times

    def run(self, session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        connection = session.connection()
        dialect = connection.dialect
        if dialect.name == "postgresql":
            columns = zip(*rows, strict=True)
            params = {f"c{i}": array_text(values) for i, values in enumerate(columns)}
            connection.execute(self.postgresql, params)
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


#: A minute's counts replace what was stored for it.
MINUTES = RowWrite(
    postgresql="""
    INSERT INTO slo_event_buckets (slo_id, minute, good, total)
    SELECT * FROM unnest(
        CAST(:c0 AS integer[]), CAST(:c1 AS timestamptz[]),
        CAST(:c2 AS bigint[]), CAST(:c3 AS bigint[])
    )
    ON CONFLICT (slo_id, minute) DO UPDATE SET good = excluded.good, total = excluded.total
    """,
    sqlite="""
    INSERT INTO slo_event_buckets (slo_id, minute, good, total) VALUES (?, ?, ?, ?)
    ON CONFLICT (slo_id, minute) DO UPDATE SET good = excluded.good, total = excluded.total
    """,
    times=(1,),
)
#: Changes of good and total added to the hour roll-ups...
HOURS = RowWrite(
    postgresql="""
    INSERT INTO slo_event_hours AS h (slo_id, hour, good, total)
    SELECT * FROM unnest(
        CAST(:c0 AS integer[]), CAST(:c1 AS timestamptz[]),
        CAST(:c2 AS bigint[]), CAST(:c3 AS bigint[])
    )
    ON CONFLICT (slo_id, hour)
    DO UPDATE SET good = h.good + excluded.good, total = h.total + excluded.total
    """,
    sqlite="""
    INSERT INTO slo_event_hours AS h (slo_id, hour, good, total) VALUES (?, ?, ?, ?)
    ON CONFLICT (slo_id, hour)
    DO UPDATE SET good = h.good + excluded.good, total = h.total + excluded.total
    """,
    times=(1,),
)
#: ...and to the day roll-ups.
DAYS = RowWrite(
    postgresql="""
    INSERT INTO slo_event_days AS d (slo_id, day, good, total)
    SELECT * FROM unnest(
        CAST(:c0 AS integer[]), CAST(:c1 AS timestamptz[]),
        CAST(:c2 AS bigint[]), CAST(:c3 AS bigint[])
    )
    ON CONFLICT (slo_id, day)
    DO UPDATE SET good = d.good + excluded.good, total = d.total + excluded.total
    """,
    sqlite="""
    INSERT INTO slo_event_days AS d (slo_id, day, good, total) VALUES (?, ?, ?, ?)
    ON CONFLICT (slo_id, day)
    DO UPDATE SET good = d.good + excluded.good, total = d.total + excluded.total
    """,
    times=(1,),
)
#: Who pushed what (opsloop.slo.models.EventPush), one row per push.
PUSHES = RowWrite(
    postgresql="""
    INSERT INTO slo_event_pushes
        (received_at, actor, request_id, minutes, first_minute, last_minute, slos)
    SELECT * FROM unnest(
        CAST(:c0 AS timestamptz[]), CAST(:c1 AS text[]), CAST(:c2 AS text[]),
        CAST(:c3 AS integer[]), CAST(:c4 AS timestamptz[]), CAST(:c5 AS timestamptz[]),
        CAST(:c6 AS text[])
    )
    """,
    sqlite="""
    INSERT INTO slo_event_pushes
        (received_at, actor, request_id, minutes, first_minute, last_minute, slos)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    """,
    times=(0, 4, 5),
)
