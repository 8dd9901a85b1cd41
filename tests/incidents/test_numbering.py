"""Incident keys under concurrent declarations: unique and gap-free, with declarations that roll
back giving their number back. The counter is a guard of its own: taken without the audit lock
(which serialises audited writes on PostgreSQL anyway), numbers must still never repeat."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from opsloop.core.db import Database
from opsloop.incidents import service as incidents
from opsloop.incidents.models import Incident
from opsloop.incidents.rules import Severity, Status, incident_key, parse_key
from opsloop.incidents.vocabulary import DetectionMethod
from tests.incidents.helpers import RESPONDER

WRITERS = 8
EACH = 6


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


def test_concurrent_declarations_get_unique_gap_free_keys(db: Database) -> None:
    def declare_some(writer: int) -> None:
        for round_ in range(EACH):
            try:
                with db.write() as session:
                    incidents.declare(
                        session,
                        principal=RESPONDER,
                        title=f"writer {writer} round {round_}",
                        severity=Severity.SEV3,
                    )
                    if (writer + round_) % 3 == 0:
                        raise Abandoned  # rolled back after taking a number
            except Abandoned:
                pass

    assert run_together(declare_some) == []
    with db.read() as session:
        keys = list(session.scalars(select(Incident.key)))
    kept = sum(1 for w in range(WRITERS) for r in range(EACH) if (w + r) % 3 != 0)
    numbers = sorted(parse_key(key)[1] for key in keys)
    assert numbers == list(range(1, kept + 1))


def _bare_incident(year: int, number: int) -> Incident:
    at = datetime(year, 6, 1, tzinfo=UTC)
    return Incident(
        key=incident_key(year, number),
        year=year,
        number=number,
        title="t",
        summary="",
        severity=Severity.SEV4,
        status=Status.investigating,
        detection_method=DetectionMethod.other,
        features_impacted=json.dumps([]),
        revenue_impact="",
        started_at=at,
        detected_at=at,
        declared_at=at,
        resolution="{}",
        declared_by="test",
        updated_at=at,
    )


def test_the_counter_alone_hands_out_each_number_once(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises every writer, audited or not")

    def allocate(writer: int) -> None:
        for _ in range(EACH):
            # A data-plane transaction: no audit lock, only the counter row guards the number.
            with db.write(audited=False) as session:
                number = incidents.next_number(session, 2026)
                session.add(_bare_incident(2026, number))

    assert run_together(allocate) == []
    with db.read() as session:
        numbers = sorted(session.scalars(select(Incident.number)))
    assert numbers == list(range(1, WRITERS * EACH + 1))
