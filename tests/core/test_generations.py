"""The kept-answer store and the one-hop reads that serve from it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import anyio
from sqlalchemy.engine import Connection
from starlette.requests import Request

from opsloop.core import deps
from opsloop.core.db import Database
from opsloop.core.generations import RenderedCache


def test_an_answer_is_served_only_at_the_generation_it_was_kept_under() -> None:
    cache = RenderedCache()
    cache.put("page", 7, b"seven")
    assert cache.get("page", 7) == b"seven"
    assert cache.get("page", 8) is None
    assert cache.get("other", 7) is None
    cache.put("page", None, b"nothing to key it by")
    assert cache.get("page", None) is None
    assert cache.get("page", 7) == b"seven"


def test_kept_bytes_stay_within_the_bound_least_recently_used_out_first() -> None:
    cache = RenderedCache(max_bytes=100)
    for key in "abcd":
        cache.put(key, 1, key.encode() * 30)
    assert cache.size == 90 and len(cache) == 3
    assert cache.get("a", 1) is None  # the oldest went when "d" came
    cache.get("b", 1)  # used: now newer than "c"
    cache.put("e", 1, b"e" * 30)
    assert cache.get("c", 1) is None and cache.get("b", 1) is not None
    cache.put("b", 2, b"b" * 10)  # a rebuilt answer replaces, not adds
    assert cache.size == 70
    cache.put("huge", 1, b"x" * 101)  # never kept, and pushes nothing out
    assert cache.get("huge", 1) is None and cache.size == 70


def test_an_answer_kept_with_an_expiry_is_served_only_before_it() -> None:
    cache = RenderedCache()
    noon = datetime(2026, 11, 2, 12, tzinfo=UTC)
    cache.put("page", 7, b"until noon", noon)
    assert cache.get("page", 7, noon - timedelta(microseconds=1)) == b"until noon"
    assert cache.get("page", 7, noon) is None
    assert cache.get("page", 7) is None  # without the time, an expiring answer is never served
    assert cache.get("page", 8, noon - timedelta(hours=1)) is None
    cache.put("page", 7, b"for good")
    assert cache.get("page", 7, noon + timedelta(days=900)) == b"for good"


def _request(db: Database) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(db=db))
    return Request({"type": "http", "app": app, "headers": []})


def test_reads_hold_at_most_their_share_of_connections(db: Database) -> None:
    """More concurrent reads than READ_CONCURRENCY wait without a thread or a connection."""
    lock = threading.Lock()
    running = peak = 0

    def read(conn: Connection) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.02)
            return int(conn.exec_driver_sql("SELECT 1").scalar_one())
        finally:
            with lock:
                running -= 1

    async def main() -> list[int]:
        results: list[int] = []

        async def one() -> None:
            results.append(await deps.run_read(_request(db), read))

        async with anyio.create_task_group() as group:
            for _ in range(deps.READ_CONCURRENCY * 3):
                group.start_soon(one)
        return results

    assert anyio.run(main) == [1] * (deps.READ_CONCURRENCY * 3)
    assert peak == deps.READ_CONCURRENCY
