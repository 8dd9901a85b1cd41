"""Heap memory that a serving process freed, handed back to the system now and then.

glibc keeps what Python frees in its heap for later allocations and returns only a free stretch
at the heap's top. After a burst (a bulk push of 1,000 events, a year's reliability report, a
page of 10,000 incidents filtered) a worker held some 30 MB it no longer used, and ended over
its 200 MB budget (benchmarks/perf, "worker MB"). ``malloc_trim(0)`` releases every whole free
page of every arena; once per interval it costs a few milliseconds, in a thread, since ctypes
lets go of the GIL while it runs.

Where the C library has no ``malloc_trim`` (musl, macOS) there is nothing to do.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import time
from collections.abc import Callable
from typing import cast

log = logging.getLogger(__name__)


def _find_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return cast(Callable[[int], int], trim)


_TRIM = _find_trim()


def can_trim() -> bool:
    return _TRIM is not None


def trim() -> bool:
    """Gives free heap pages back to the system now; whether any were."""
    if _TRIM is None:
        return False
    return bool(_TRIM(0))


async def trim_every(seconds: float) -> None:
    """Runs until cancelled: a trim every ``seconds``, off the event loop."""
    if _TRIM is None:
        return
    while True:
        await asyncio.sleep(seconds)
        started = time.perf_counter()
        released = await asyncio.to_thread(trim)
        log.debug(
            "heap trimmed in %.1f ms (%s)",
            (time.perf_counter() - started) * 1000,
            "pages released" if released else "nothing to release",
        )
