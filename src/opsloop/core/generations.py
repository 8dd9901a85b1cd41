"""Generation counters: a number that changes whenever a set of tables does.

Database triggers (created by the migrations, never by application code) add one to a named
counter in the same transaction as any INSERT, UPDATE or DELETE on the tables it covers, so no
write path can forget to. Readers that render the same answer again and again (a page of the
SLO list is read far more often than SLOs change, about once a minute per evaluation) keep the
rendered answer with the generation it was built at, and rebuild it only when the counter has
moved: one primary-key read instead of a page of rows.

Read the generation *before* the rows it guards. Under PostgreSQL's read committed each
statement sees its own snapshot, so the rows may be newer than the generation read first; an
answer stored under an older generation is then at worst fresher than its key, and is rebuilt
at the next change. Read in the other order, a change committed in between would leave a stale
answer under the new generation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import BigInteger, String, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.core.db import Base


class Generation(Base):
    __tablename__ = "generations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


_VALUE = Generation.__table__.c.value
_NAME = Generation.__table__.c.name
_QUERY = "SELECT value FROM generations WHERE name = {}"
#: The statement per DB-API parameter style (sqlite3: qmark, psycopg: pyformat/format).
_BY_PARAMSTYLE = {"qmark": _QUERY.format("?"), "format": _QUERY.format("%s")}
_BY_PARAMSTYLE["pyformat"] = _BY_PARAMSTYLE["format"]


def current(conn: Connection, name: str) -> int | None:
    """The counter now (None if it has never moved: then nothing may be kept under it).

    Asked on the driver's own cursor: this runs before every kept answer is served, and through
    SQLAlchemy (statement caching, a transaction begun and rolled back) it cost six times the
    query. Any failure is asked again the ordinary way, so that SQLAlchemy handles it as it
    handles every other query: the error wrapped, a lost connection and its pool discarded.
    """
    try:
        driver = conn.connection.driver_connection
        assert driver is not None, "a checked-out connection has its driver connection"
        cursor = driver.cursor()
        try:
            cursor.execute(_BY_PARAMSTYLE[conn.dialect.paramstyle], (name,))
            row = cursor.fetchone()
        finally:
            cursor.close()
    except conn.dialect.loaded_dbapi.Error:
        conn.invalidate()
        value: int | None = conn.execute(select(_VALUE).where(_NAME.__eq__(name))).scalar()
        return value
    return None if row is None else int(row[0])


B = TypeVar("B", bytes, bytes | None)


class RenderedCache:
    """Answers kept with the generation they were built at; least recently used out first
    beyond ``max_bytes`` in all (a page of 50 SLOs is about 100 KB).

    One per process (on the app's state); worker threads share it, so access is locked.
    """

    def __init__(self, max_bytes: int = 8 << 20) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[int, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, generation: int | None) -> bytes | None:
        if generation is None:
            return None
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != generation:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: Hashable, generation: int | None, body: bytes) -> None:
        if generation is None:
            return
        if len(body) > self.max_bytes:
            return
        with self._lock:
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self._bytes -= len(replaced[1])
            self._entries[key] = (generation, body)
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= len(dropped)

    def answer(
        self, conn: Connection, name: str, key: Hashable, build: Callable[[], B]
    ) -> bytes | B:
        """The kept answer for ``key`` if the counter ``name`` has not moved, else ``build()``
        (which must read through the same database) kept under the generation read first.
        ``build`` may answer None: nothing to keep, asked again next time."""
        generation = current(conn, name)
        kept = self.get(key, generation)
        if kept is not None:
            return kept
        body = build()
        if body is not None:
            self.put(key, generation, body)
        return body

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes kept."""
        return self._bytes
