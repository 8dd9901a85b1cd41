"""DORA's change failure rate counts a change that an incident names as its cause, and one whose
verification after completion failed, as the definitions say. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from opsloop.changes import dora, recording
from opsloop.changes.models import Change
from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.incidents import service as incidents
from opsloop.incidents.rules import Severity
from tests.changes.helpers import make_service

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_incident_causes_and_failed_verifications_are_failures(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    make_service(db, "checkout")
    frozen_clock.current = START + timedelta(hours=6)
    keys = []
    with db.write() as session:
        for n in range(4):
            began = START + timedelta(hours=n)
            made = recording.record_deployment(
                session, principal=SYSTEM, service="checkout", version=f"1.{n}",
                started_at=began, finished_at=began + timedelta(minutes=5),
            )  # fmt: skip
            keys.append(made.change.key)
    with db.write() as session:
        incident = incidents.declare(
            session, principal=SYSTEM, title="Checkout errors", severity=Severity.SEV2,
            services=["checkout"], started_at=START + timedelta(hours=1, minutes=10),
        )  # fmt: skip
        incidents.update_incident(
            session, principal=SYSTEM, key=incident.key, changes={"caused_by_change": keys[1]}
        )
        session.execute(update(Change).where(Change.key == keys[3]).values(verification="fail"))

    def failures() -> tuple[int, int]:
        with db.read() as session:
            report = dora.dora(
                session, since=START - timedelta(days=1), until=START + timedelta(days=1)
            )
        return report.total.failures, report.total.finished

    assert failures() == (2, 4)
