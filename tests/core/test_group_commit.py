"""The group commit: many queued items, one transaction, one outcome each."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from opsloop.core.db import Database
from opsloop.core.errors import NotFound
from opsloop.core.group_commit import GroupCommit, QueueFull


class Recorder:
    """A handler that remembers the groups it was given and what each item answers."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []

    def __call__(self, session: Session, items: Sequence[str]) -> list[int | Exception]:
        session.execute(text("SELECT 1"))
        self.groups.append(list(items))
        if "explode" in items:
            raise RuntimeError("the transaction fails")
        return [
            NotFound(f"no {item}") if item.startswith("missing") else len(item) for item in items
        ]


async def _submit_all(writer: GroupCommit[str, int], items: list[str]) -> list[object]:
    return await asyncio.gather(*(writer.submit(item) for item in items), return_exceptions=True)


def test_queued_items_commit_in_one_group_each_with_its_own_outcome(db: Database) -> None:
    handler = Recorder()
    writer = GroupCommit(db, handler, name="test")
    items = ["a", "bb", "missing-1", "ccc"]
    outcomes = asyncio.run(_submit_all(writer, items))
    writer.stop()
    assert outcomes[:2] == [1, 2] and outcomes[3] == 3
    assert isinstance(outcomes[2], NotFound)
    assert handler.groups == [items]  # submitted before the writer woke: one group


def test_a_failing_group_is_retried_one_item_at_a_time(db: Database) -> None:
    handler = Recorder()
    writer = GroupCommit(db, handler, name="test")
    outcomes = asyncio.run(_submit_all(writer, ["a", "explode", "bb"]))
    writer.stop()
    assert outcomes[0] == 1 and outcomes[2] == 2
    assert isinstance(outcomes[1], RuntimeError)
    assert handler.groups == [["a", "explode", "bb"], ["a"], ["explode"], ["bb"]]


def test_a_full_queue_refuses_at_once_and_stop_drains_the_rest(db: Database) -> None:
    entered, release = threading.Event(), threading.Event()
    committed: list[str] = []

    def slow(session: Session, items: Sequence[str]) -> list[int | Exception]:
        entered.set()
        release.wait(10)
        committed.extend(items)
        return [len(item) for item in items]

    writer = GroupCommit(db, slow, name="test", max_queue=2)

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(writer.submit("a"))
        while not entered.is_set():  # the writer has taken "a" and waits in the handler
            await asyncio.sleep(0.01)
        queued = [asyncio.ensure_future(writer.submit(x)) for x in ("bb", "ccc")]
        await asyncio.sleep(0)
        with pytest.raises(QueueFull):
            await writer.submit("dddd")
        release.set()
        return [await first, *[await q for q in queued]]

    assert asyncio.run(scenario()) == [1, 2, 3]
    writer.stop()
    assert committed == ["a", "bb", "ccc"]
    # Stopped, it starts again at the next item.
    assert asyncio.run(_submit_all(writer, ["ee"])) == [2]
    writer.stop()


def test_prepared_items_reach_the_handler_and_a_failing_preparation_is_skipped(
    db: Database,
) -> None:
    handler = Recorder()

    def shout(_: Database, items: Sequence[str]) -> list[str]:
        if "boom" in items:
            raise RuntimeError("preparation failed")
        return [item.upper() for item in items]

    writer = GroupCommit(db, handler, name="test", prepare=shout)
    assert asyncio.run(_submit_all(writer, ["ab", "c"])) == [2, 1]
    assert asyncio.run(_submit_all(writer, ["boom"])) == [4]
    writer.stop()
    assert handler.groups == [["AB", "C"], ["boom"]]
