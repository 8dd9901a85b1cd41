"""Group commit for data-plane writes: many requests, one transaction, one commit.

A request that writes machine input (a pushed minute, later an alert webhook) is small; what
costs is the transaction around it: on SQLite the database-wide write lock, on PostgreSQL the
commit's flush to disk. A :class:`GroupCommit` owns one writer thread per process. Requests are
queued from the event loop; the writer takes everything queued, hands it to the domain's
*handler* in one ``Database.write(audited=False)`` transaction, commits, and only then answers
each request, so a success is never sent for a write that was not committed.

The handler decides each item's outcome: it returns one entry per item, either a result or the
exception that item should answer with (an unknown SLO, a bad timestamp). Those items must not
have written anything; the others commit together. If the transaction itself fails, the items
are run again one at a time, so only the culprit fails. Handlers therefore write idempotently.

The queue is bounded: when it is full, :meth:`GroupCommit.submit` raises :class:`QueueFull` at
once (the API answers 503 with ``Retry-After``) instead of holding ever more memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from opsloop.core.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: The domain's writer: one outcome per item, in order, each a result or an exception.
Handler = Callable[[Session, Sequence[T]], list[R | Exception]]
#: Optional work on a group before its transaction, outside the write lock (reads, checks):
#: the items the handler gets instead, one per item, in order. The handler must still be
#: right if what the preparation read has changed by the time it runs.
Prepare = Callable[[Database, Sequence[T]], Sequence[T]]

#: Requests waiting beyond this answer 503 at once. At a few ms per group of up to
#: ``MAX_GROUP`` items, a full queue drains in well under a second.
MAX_QUEUE = 4096
#: Items in one transaction: large enough to spread a commit over many requests, small enough
#: that one group's statements and the locks it holds stay short.
MAX_GROUP = 256
#: Seconds a client is asked to wait after a 503 for a full queue.
RETRY_AFTER = 1


class QueueFull(Exception):
    """The writer is this far behind; the caller should answer 503 and ask for a retry."""


@dataclass
class _Pending(Generic[T, R]):
    item: T
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[R]


_STOP = object()
#: A waiting request's future and what it answers with.
_Answer = tuple[asyncio.Future[R], R | Exception]


class GroupCommit(Generic[T, R]):
    """One writer thread that commits queued items in groups (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        handler: Handler[T, R],
        *,
        name: str,
        max_queue: int = MAX_QUEUE,
        max_group: int = MAX_GROUP,
        prepare: Prepare[T] | None = None,
    ) -> None:
        self.db = db
        self.handler = handler
        self.prepare = prepare
        self.name = name
        self.max_group = max_group
        self._queue: queue.Queue[_Pending[T, R] | object] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stopping = False

    async def submit(self, item: T) -> R:
        """Queue ``item`` and wait until its group has committed; raises the item's error."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        try:
            self._queue.put_nowait(_Pending(item, loop, future))
        except queue.Full:
            raise QueueFull(f"{self.name}: {self._queue.maxsize} requests already queued") from None
        return await future

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._stopping:
                raise QueueFull(f"{self.name}: shutting down")
            if self._thread is None:
                thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                thread.start()
                self._thread = thread

    def stop(self, timeout: float = 30.0) -> None:
        """Commit everything already queued, then end the writer thread (the next
        :meth:`submit` starts a new one)."""
        with self._start_lock:
            thread, self._stopping = self._thread, True
        try:
            if thread is not None:
                # Blocking: the writer keeps draining, so room appears.
                self._queue.put(_STOP)
                thread.join(timeout)
        finally:
            with self._start_lock:
                self._thread, self._stopping = None, False

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group = [first]
            stop_after = False
            while len(group) < self.max_group:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop_after = True
                    break
                group.append(more)
            self._commit([p for p in group if isinstance(p, _Pending)])
            if stop_after:
                return

    def _commit(self, group: list[_Pending[T, R]]) -> None:
        items = self._prepared([p.item for p in group])
        try:
            outcomes = self._transaction(items)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests, which raise it
            if len(group) == 1:
                outcomes = [exc]
            else:
                log.warning(
                    "%s: a group of %d failed (%s); retrying one at a time",
                    self.name,
                    len(group),
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                )
                outcomes = [self._alone(item) for item in items]
        # One wake-up per event loop for the whole group, not one per item: each costs the
        # loop a trip through its self-pipe.
        by_loop: dict[asyncio.AbstractEventLoop, list[_Answer[R]]] = {}
        for pending, outcome in zip(group, outcomes, strict=True):
            by_loop.setdefault(pending.loop, []).append((pending.future, outcome))
        for loop, answers in by_loop.items():
            # RuntimeError: that event loop is closed, nobody waits for the answer.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle_all, answers)

    def _prepared(self, items: list[T]) -> list[T]:
        if self.prepare is None:
            return items
        try:
            prepared = list(self.prepare(self.db, items))
        except Exception:  # noqa: BLE001 - an optional shortcut: the handler does it all
            log.warning("%s: preparing a group failed; storing it unprepared", self.name)
            return items
        return prepared if len(prepared) == len(items) else items

    def _transaction(self, items: list[T]) -> list[R | Exception]:
        with self.db.write(audited=False) as session:
            outcomes = self.handler(session, items)
        if len(outcomes) != len(items):
            raise RuntimeError(f"{self.name}: handler gave {len(outcomes)} outcomes")
        return outcomes

    def _alone(self, item: T) -> R | Exception:
        try:
            return self._transaction([item])[0]
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request, which raises it
            return exc


def _settle_all(answers: list[_Answer[R]]) -> None:
    for future, outcome in answers:
        if future.done():  # the request went away (client disconnected)
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


_WRITERS: weakref.WeakKeyDictionary[Database, dict[str, GroupCommit[Any, Any]]] = (
    weakref.WeakKeyDictionary()
)
_WRITERS_LOCK = threading.Lock()


def writer(
    db: Database, name: str, handler: Handler[T, R], *, prepare: Prepare[T] | None = None
) -> GroupCommit[T, R]:
    """The process's group commit called ``name`` for ``db``, made at the first call."""
    with _WRITERS_LOCK:
        by_name = _WRITERS.setdefault(db, {})
        found: GroupCommit[T, R] | None = by_name.get(name)
        if found is None:
            found = by_name[name] = GroupCommit(db, handler, name=name, prepare=prepare)
        return found


def stop_all(db: Database) -> None:
    """Drain and stop every group commit of ``db`` (the app's shutdown)."""
    with _WRITERS_LOCK:
        writers = list(_WRITERS.get(db, {}).values())
    for each in writers:
        each.stop()
