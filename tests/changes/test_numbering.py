"""Change keys under concurrent submissions: unique and gap-free, with submissions that roll
back giving their number back. The counter is a guard of its own: taken without the audit
lock (which serialises audited writes on PostgreSQL anyway), numbers must never repeat."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from opsloop.changes import service as changes
from opsloop.changes import workflow
from opsloop.changes.models import Change
from opsloop.changes.rules import KEY_PATTERN, ChangeModel, ChangeState, RiskLevel, change_key
from opsloop.core.db import Database
from tests.changes.helpers import ALICE, make_people, make_service

WRITERS = 8
EACH = 5


def run_together(work: Callable[[int], None]) -> list[BaseException]:
    """``work(writer)`` in WRITERS threads released at once; the errors they raised."""
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def run(writer: int) -> None:
        start.wait()
        try:
            work(writer)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


class Abandoned(Exception):
    pass


def test_concurrent_submissions_get_unique_gap_free_keys(db: Database) -> None:
    make_service(db, "checkout")
    make_people(db)

    def submit_some(writer: int) -> None:
        for round_ in range(EACH):
            try:
                with db.write() as session:
                    found = changes.create(
                        session,
                        principal=ALICE,
                        title=f"writer {writer} round {round_}",
                        service="checkout",
                        category="application",
                        model=ChangeModel.normal,
                        risk=RiskLevel.low,
                        rollback_plan="redeploy the previous release",
                    )
                    workflow.submit(session, principal=ALICE, key=found.key)
                    if (writer + round_) % 3 == 0:
                        raise Abandoned  # rolled back after taking a number
            except Abandoned:
                pass

    assert run_together(submit_some) == []
    with db.read() as session:
        keys = list(session.scalars(select(Change.key)))
    kept = sum(1 for w in range(WRITERS) for r in range(EACH) if (w + r) % 3 != 0)
    numbers = []
    for key in keys:
        found = KEY_PATTERN.match(key)
        assert found is not None
        numbers.append(int(found.group(2)))
    assert sorted(numbers) == list(range(1, kept + 1))


def _bare_change(year: int, number: int) -> Change:
    at = datetime(year, 6, 1, tzinfo=UTC)
    return Change(
        key=change_key(year, number),
        year=year,
        number=number,
        title="t",
        description="",
        service="checkout",
        category="application",
        model=ChangeModel.standard,
        risk=RiskLevel.low,
        state=ChangeState.draft,
        impact_analysis="",
        rollback_plan="",
        outcome_reason="",
        gate_override_reason="",
        warnings="[]",
        created_by="test",
        created_at=at,
        updated_at=at,
    )


def test_the_counter_alone_hands_out_each_number_once(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises every writer, audited or not")

    def allocate(writer: int) -> None:
        for _ in range(EACH):
            # A data-plane transaction: no audit lock, only the counter row guards the number.
            with db.write(audited=False) as session:
                number = changes.next_number(session, 2026)
                session.add(_bare_change(2026, number))

    assert run_together(allocate) == []
    with db.read() as session:
        numbers = sorted(session.scalars(select(Change.number)))
    assert numbers == list(range(1, WRITERS * EACH + 1))
