"""Generation counters: a number that changes whenever a set of tables does.

Database triggers (created by the migrations, never by application code) add one to a named
counter in the same transaction as any INSERT, UPDATE or DELETE on the tables it covers, so no
write path can forget to. Readers that render the same answer again and again (a page of the
SLO list is read far more often than SLOs change, about once a minute per evaluation) keep the
rendered answer with the generation it was built at, and rebuild it only when the counter has
moved: one primary-key read instead of a page of rows (opsloop.core.counters reads it).

An answer that also shows the time (an incident's response state, an action item's days
overdue) is kept with the first instant at which any of its shown values would read differently
(``expires``) and is not served from then on, counter or not.

Read the generation *before* the rows it guards. Under PostgreSQL's read committed each
statement sees its own snapshot, so the rows may be newer than the generation read first; an
answer stored under an older generation is then at worst fresher than its key, and is rebuilt
at the next change. Read in the other order, a change committed in between would leave a stale
answer under the new generation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from opsloop.core.db import Base


class Generation(Base):
    __tablename__ = "generations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


_VALUES: dict[str, Any] = {}


def current(session: Session, name: str) -> int | None:
    """The counter ``name`` as the session's transaction sees it (None if its row is gone)."""
    statement = _VALUES.get(name)
    if statement is None:
        # Built once per name: building a statement costs more than running this one.
        statement = _VALUES[name] = select(Generation.value).where(Generation.name == name)
    value = session.connection().execute(statement).scalar()
    return None if value is None else int(value)


#: The value an answer is kept under: one counter's, or several counters' together.
KeptUnder = int | tuple[int, ...]


class RenderedCache:
    """Answers kept with the generation they were built at; least recently used out first
    beyond ``max_bytes`` in all (a page of 50 SLOs is about 100 KB).

    One per process (on the app's state); worker threads share it, so access is locked.
    """

    def __init__(self, max_bytes: int = 8 << 20) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[KeptUnder, bytes, datetime | None]]
        self._entries = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(
        self, key: Hashable, generation: KeptUnder | None, now: datetime | None = None
    ) -> bytes | None:
        """The answer kept under ``generation``; one kept with an expiry only while ``now``
        (required for those) is before it."""
        if generation is None:
            return None
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != generation:
                return None
            expires = found[2]
            if expires is not None and (now is None or now >= expires):
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(
        self,
        key: Hashable,
        generation: KeptUnder | None,
        body: bytes,
        expires: datetime | None = None,
    ) -> None:
        if generation is None:
            return
        if len(body) > self.max_bytes:
            return
        with self._lock:
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self._bytes -= len(replaced[1])
            self._entries[key] = (generation, body, expires)
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, (_, dropped, _) = self._entries.popitem(last=False)
                self._bytes -= len(dropped)

    def stale(self, family: Hashable, generation: KeptUnder, limit: int) -> list[Hashable]:
        """Up to ``limit`` keys ``(family, ...)`` kept under a generation other than
        ``generation``, most recently used first: the answers that were wanted before the
        counter moved, and will most likely be wanted again."""
        found: list[Hashable] = []
        with self._lock:
            for key in reversed(self._entries):
                if len(found) >= limit:
                    break
                if (
                    isinstance(key, tuple)
                    and key
                    and key[0] == family
                    and self._entries[key][0] != generation
                ):
                    found.append(key)
        return found

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes kept."""
        return self._bytes
