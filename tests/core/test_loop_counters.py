"""Counters read on the event loop: each answer comes from a read begun after it was asked for,
failures take the ordinary path, and both databases answer the same."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from opsloop.core.counters import CounterReadFailed, LoopCounters
from opsloop.core.db import Database


class Scripted:
    """A source whose reads finish when the test says so, numbered in the order they began."""

    def __init__(self) -> None:
        self.began = 0
        self.release = asyncio.Event()
        self.fail = False

    async def read(self) -> dict[str, int]:
        self.began += 1
        number = self.began
        await self.release.wait()
        if self.fail:
            raise CounterReadFailed("scripted")
        return {"slos": number}

    async def close(self) -> None:
        pass


async def settle() -> None:
    """Let every ready task run (the read runs a few hand-offs away from the caller)."""
    for _ in range(20):
        await asyncio.sleep(0)


def test_a_caller_never_shares_a_read_that_began_before_it_asked() -> None:
    async def main() -> None:
        source = Scripted()
        counters = LoopCounters("sqlite://", open_source=lambda _: source)
        early = asyncio.ensure_future(counters.current("slos"))
        await settle()  # the first read begins
        assert source.began == 1
        late = [asyncio.ensure_future(counters.current("slos")) for _ in range(5)]
        await settle()
        assert source.began == 1
        source.release.set()
        assert await early == 1
        # Asked while read 1 ran: they share read 2, begun after all of them asked.
        assert await asyncio.gather(*late) == [2] * 5
        assert source.began == 2
        assert await counters.current("slos") == 3
        assert await counters.current("other") is None

    asyncio.run(main())


def test_a_failed_read_sends_callers_the_ordinary_way_for_a_while() -> None:
    async def main() -> None:
        source = Scripted()
        source.fail = True
        source.release.set()
        counters = LoopCounters("sqlite://", open_source=lambda _: source)
        assert await counters.current("slos") is None
        assert await counters.current("slos") is None
        assert source.began == 1  # paused: nobody waits on a failing connection again

    asyncio.run(main())


def test_both_databases_answer_what_the_table_holds(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM generations"))
        conn.execute(text("INSERT INTO generations (name, value) VALUES ('slos', 12345678901)"))

    async def main() -> tuple[int | None, int | None]:
        counters = LoopCounters(db.url)
        try:
            return await counters.current("slos"), await counters.current("nothing")
        finally:
            await counters.close()

    assert asyncio.run(main()) == (12345678901, None)


def test_several_counters_come_from_one_read_and_only_all_together(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM generations"))
        conn.execute(text("INSERT INTO generations (name, value) VALUES ('slos', 7), ('a', 8)"))

    async def main() -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
        counters = LoopCounters(db.url)
        try:
            return await counters.current_of(("a", "slos")), await counters.current_of(
                ("slos", "nothing")
            )
        finally:
            await counters.close()

    # A missing counter has never moved (or its row was removed): nothing may be kept under it.
    assert asyncio.run(main()) == ((8, 7), None)


@pytest.mark.parametrize(
    "url", ["sqlite:////nonexistent/dir/opsloop.db", "postgresql+psycopg://nobody@127.0.0.1:1/none"]
)
def test_an_unreachable_database_is_no_error_here(url: str) -> None:
    async def main() -> int | None:
        return await LoopCounters(url).current("slos")

    assert asyncio.run(main()) is None
