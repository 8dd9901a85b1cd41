"""One piece of work for every caller that asks for the same thing while it runs.

When a remembered answer (a token, a kept page) goes stale, every request in flight for it
misses at once; each used to take a worker thread and read the same rows while the others
queued behind it. Callers of :func:`shared` with the same key share one run instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

#: Work under way, by key (one such dict per thing remembered; used only on an event loop).
Running = dict[Hashable, "asyncio.Future[Any]"]


async def shared(running: Running, key: Hashable, start: Callable[[], Awaitable[T]]) -> T:
    """The result of ``start()``, run once for the callers that ask with ``key`` while it runs.
    The key must say everything the result depends on (a generation, say): a caller that
    shares a run begun before it asked must be as well served by it as by a run of its own."""
    work = running.get(key)
    if work is None or work.get_loop() is not asyncio.get_running_loop():
        work = asyncio.ensure_future(start())
        running[key] = work
        work.add_done_callback(lambda done: _finished(running, key, done))
    # Shielded: one caller going away (a client that disconnects) does not cancel the others'.
    result: T = await asyncio.shield(work)
    return result


def _finished(running: Running, key: Hashable, done: asyncio.Future[Any]) -> None:
    if running.get(key) is done:
        del running[key]
    if not done.cancelled():
        done.exception()  # retrieved here, so one that no caller waited for is not logged
