"""Generation counters read on the event loop, and answers served from them without a thread.

A kept answer (:class:`opsloop.core.generations.RenderedCache`) is served after one primary-key
read of its counter. Through a worker thread that read cost more in the hand-off to the thread
and back than in the query; here it runs on the event loop itself, on a connection of its own
that no request holds:

- SQLite: a read-only sqlite3 connection queried in place (a few microseconds on a local file;
  WAL readers do not wait for writers, and a short busy timeout bounds the rare wait).
- PostgreSQL: psycopg's asynchronous connection in autocommit. Callers that arrive while a
  query is in flight share the *next* query, never the running one: a query that started before
  a caller arrived may predate a write the caller has already seen committed.

Whenever this path fails (no connection, a timeout, a schema without counters) the caller builds
its answer the ordinary way (:func:`opsloop.core.deps.run_read`, which reports errors as every
other read does) and keeps nothing; the loop connection is opened again after a pause.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import weakref
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from fastapi import Request
from sqlalchemy.engine import Connection, make_url

from opsloop.core import clock
from opsloop.core.deps import run_read
from opsloop.core.generations import KeptUnder, RenderedCache
from opsloop.core.shared_work import Running, shared

log = logging.getLogger(__name__)

_QUERY = "SELECT name, value FROM generations"
#: How long a counter read on the loop may take before the request goes the ordinary way.
TIMEOUT_SECONDS = 1.0
#: After a failure, how long requests go the ordinary way before the loop connection is retried.
RETRY_AFTER_SECONDS = 5.0
B = TypeVar("B", bytes, bytes | None)


class CounterReadFailed(Exception):
    """The loop path could not read the counters; the ordinary path will say why, if it can."""


class _Source(Protocol):
    async def read(self) -> dict[str, int]: ...
    async def close(self) -> None: ...


class _SqliteSource:
    def __init__(self, path: str) -> None:
        try:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA query_only=ON")
            self._conn.execute("PRAGMA busy_timeout=50")
        except sqlite3.Error as exc:
            raise CounterReadFailed(str(exc)) from exc

    async def read(self) -> dict[str, int]:
        try:
            return {name: int(value) for name, value in self._conn.execute(_QUERY)}
        except sqlite3.Error as exc:
            raise CounterReadFailed(str(exc)) from exc

    async def close(self) -> None:
        self._conn.close()


class _PostgresSource:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn: Any = None

    async def read(self) -> dict[str, int]:
        import psycopg  # only PostgreSQL deployments need it loaded

        try:
            if self._conn is None:
                self._conn = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=2
                )
            cursor = await self._conn.execute(_QUERY)
            return {name: int(value) for name, value in await cursor.fetchall()}
        except (psycopg.Error, OSError) as exc:
            raise CounterReadFailed(str(exc)) from exc

    async def close(self) -> None:
        import psycopg

        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close()
            except (psycopg.Error, OSError):
                log.debug("closing the counters' connection failed", exc_info=True)


def _source_for(url: str) -> _Source:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _SqliteSource(parsed.database or "")
    return _PostgresSource(
        parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    )


class LoopCounters:
    """One per app (one per worker process); used only from the app's event loop."""

    def __init__(
        self, database_url: str, *, open_source: Callable[[str], _Source] | None = None
    ) -> None:
        self._url = database_url
        self._open_source = open_source or _source_for
        self._source: _Source | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next: asyncio.Future[dict[str, int]] | None = None
        self._reading = False
        self._paused_until = 0.0
        self._task: asyncio.Task[None] | None = None

    async def current(self, name: str) -> int | None:
        """The counter as of a read begun after this call, or None: take the ordinary path."""
        values = await self._values()
        return None if values is None else values.get(name)

    async def current_of(self, names: tuple[str, ...]) -> tuple[int, ...] | None:
        """Several counters from one read (as :meth:`current`); None unless all are there."""
        values = await self._values()
        if values is None or any(name not in values for name in names):
            return None
        return tuple(values[name] for name in names)

    async def _values(self) -> dict[str, int] | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests start apps more than once)
            self._loop, self._source, self._next, self._reading = loop, None, None, False
        if time.monotonic() < self._paused_until:
            return None
        if self._next is None:
            self._next = loop.create_future()
            if not self._reading:
                self._reading = True
                # Kept: the loop holds tasks weakly, and a collected one would strand waiters.
                self._task = loop.create_task(self._read_while_asked())
        asked = self._next
        try:
            values = await asyncio.shield(asked)
        except (CounterReadFailed, TimeoutError):
            return None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if asked.cancelled() and task is not None and not task.cancelling():
                return None  # the read was abandoned, not this request
            raise
        return values

    async def _read_while_asked(self) -> None:
        try:
            while self._next is not None:
                answer, self._next = self._next, None
                try:
                    values = await asyncio.wait_for(self._read(), TIMEOUT_SECONDS)
                except (CounterReadFailed, TimeoutError) as exc:
                    await self._failed(exc)
                    answer.set_exception(exc)
                    answer.exception()  # retrieved: the waiters take the ordinary path
                except BaseException:
                    answer.cancel()  # never leave a waiter waiting, whatever happened
                    raise
                else:
                    answer.set_result(values)
        finally:
            self._reading = False
            if self._next is not None:
                self._next.cancel()
                self._next = None

    async def _read(self) -> dict[str, int]:
        if self._source is None:
            self._source = self._open_source(self._url)
        return await self._source.read()

    async def _failed(self, exc: BaseException) -> None:
        log.warning("reading generation counters on the event loop failed: %s", exc)
        self._paused_until = time.monotonic() + RETRY_AFTER_SECONDS
        source, self._source = self._source, None
        if source is not None:
            await source.close()

    async def close(self) -> None:
        if self._source is not None:
            await self._source.close()
            self._source = None


#: Answers rebuilt by one refill at most (see :func:`serve_kept`).
REFILL_LIMIT = 2000
#: Builds under way, per cache, by (key, generation): requests that miss one answer together
#: share one build.
_BUILDS: weakref.WeakKeyDictionary[RenderedCache, Running] = weakref.WeakKeyDictionary()
#: Refills under way, per cache, by (family, generation).
_REFILLS: weakref.WeakKeyDictionary[
    RenderedCache, dict[tuple[Hashable, KeptUnder], asyncio.Future[dict[Hashable, bytes | None]]]
] = weakref.WeakKeyDictionary()


async def serve_kept(
    request: Request,
    name: str | tuple[str, ...],
    key: Hashable,
    build: Callable[[Connection], B],
    *,
    refill: Callable[[Connection, list[Hashable]], dict[Hashable, bytes | None]] | None = None,
) -> bytes | B:
    """The answer kept for ``key`` under counter ``name``, read without a worker thread when
    it is current; otherwise ``build(connection)`` in one thread hop, kept for next time. When
    the counter cannot be read here (or has never moved), nothing is kept: the answer is built.
    An answer that reads the tables of several counters names them all (a tuple): it is kept
    until any of them moves.

    ``refill`` rebuilds many answers of one family (keys ``(family, ...)``) in one read: when
    the counter moves, every answer kept under it is stale at once, and rebuilding them one
    request and one thread hop at a time crowds the worker threads for a second. The first
    request to miss rebuilds its own key and the family's stale keys together; requests for
    those keys meanwhile wait for that read instead of starting their own."""
    cache: RenderedCache = request.app.state.rendered
    counters: LoopCounters = request.app.state.counters
    generation: KeptUnder | None
    if isinstance(name, str):
        generation = await counters.current(name)
    else:
        generation = await counters.current_of(name)
    if generation is None:
        return await run_read(request, build)
    kept = cache.get(key, generation)
    if kept is not None:
        return kept
    if refill is not None and isinstance(key, tuple) and key:
        body = (await _refilled(request, cache, generation, key, refill)).get(key)
        if body is not None:
            return body

    def rebuild(conn: Connection) -> B:
        body = build(conn)  # read after the generation: at worst fresher than its key
        if body is not None:
            cache.put(key, generation, body)
        return body

    builds = _BUILDS.setdefault(cache, {})
    return await shared(builds, (key, generation), lambda: run_read(request, rebuild))


#: An answer and the first instant at which it would read differently with the same rows
#: (None: never).
Dated = tuple[bytes, datetime | None]


async def serve_kept_until(
    request: Request, name: str, key: Hashable, build: Callable[[Connection], Dated]
) -> bytes:
    """As :func:`serve_kept`, for an answer that also shows the time: ``build`` says until
    when its answer holds, and a kept answer is not served from that instant on (the time is
    :func:`opsloop.core.clock.now`)."""
    cache: RenderedCache = request.app.state.rendered
    counters: LoopCounters = request.app.state.counters
    generation = await counters.current(name)
    if generation is None:
        return (await run_read(request, build))[0]
    kept = cache.get(key, generation, clock.now())
    if kept is not None:
        return kept

    def rebuild(conn: Connection) -> Dated:
        body, expires = build(conn)  # read after the generation: at worst fresher than its key
        cache.put(key, generation, body, expires)
        return body, expires

    builds = _BUILDS.setdefault(cache, {})
    body, expires = await shared(builds, (key, generation), lambda: run_read(request, rebuild))
    if expires is not None and clock.now() >= expires:
        # It turned while this request waited for a build begun before. The requests that
        # waited share one more build, begun after the turn (the first build's entry is gone
        # once it is done), instead of each making its own.
        body, _ = await shared(builds, (key, generation), lambda: run_read(request, rebuild))
    return body


async def _refilled(
    request: Request,
    cache: RenderedCache,
    generation: KeptUnder,
    key: tuple[Hashable, ...],
    refill: Callable[[Connection, list[Hashable]], dict[Hashable, bytes | None]],
) -> dict[Hashable, bytes | None]:
    """The answers of the refill that covers ``key`` (an empty dict when none does)."""
    refills = _REFILLS.setdefault(cache, {})
    running = refills.get((key[0], generation))
    if running is not None:
        shared = await asyncio.shield(running)
        if key in shared:
            return shared
    keys = [key, *(k for k in cache.stale(key[0], generation, REFILL_LIMIT) if k != key)]

    def rebuild(conn: Connection) -> dict[Hashable, bytes | None]:
        bodies = refill(conn, keys)  # read after the generation: at worst fresher than its key
        for each, body in bodies.items():
            if body is not None:
                cache.put(each, generation, body)
        return bodies

    done: asyncio.Future[dict[Hashable, bytes | None]] = asyncio.get_running_loop().create_future()
    refills[(key[0], generation)] = done
    found: dict[Hashable, bytes | None] = {}
    try:
        found = await run_read(request, rebuild)
    finally:
        # Waiters on a failed refill find nothing in it and build their own answers.
        done.set_result(found)
        refills.pop((key[0], generation), None)
    return found
