"""The reviews' minute job (pir-watch): it announces exactly what the compliance view reports
overdue within its window, not a second early, once; and once everything due is announced
it reads no incident in full, however many its window holds. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from opsloop.core import clock
from opsloop.core.db import Database
from opsloop.incidents import service as incident_service
from opsloop.incidents.rules import Severity
from opsloop.pirs import compliance, jobs
from opsloop.pirs import service as pirs
from opsloop.pirs.rules import PirState
from opsloop.pirs.service import DEFAULT_POLICY
from opsloop.pirs.views import Policy
from tests.incidents.helpers import RESPONDER, declare
from tests.pirs.helpers import ready_review, resolved_incident, start_review


def _watch(db: Database, policy: Policy = DEFAULT_POLICY) -> list[str]:
    with db.write(audited=False) as session:
        return jobs.announce_overdue(session, now=clock.now(), policy=policy)


def _overdue_in_view(db: Database, policy: Policy) -> set[str]:
    with db.read() as session:
        report = compliance.incident_compliance(session, window=jobs.WATCHED, policy=policy)
    return {review.incident.key for review in report.overdue_reviews}


def _publish(db: Database, key: str) -> None:
    ready_review(db, key)
    with db.write() as session:
        pirs.move_pir(session, principal=RESPONDER, key=key, state=PirState.in_review)
        pirs.move_pir(session, principal=RESPONDER, key=key, state=PirState.published)


def test_it_announces_what_the_compliance_view_finds_overdue(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    resolved_incident(db, frozen_clock, title="Long ago, never reviewed")
    frozen_clock.advance(jobs.WATCHED + timedelta(days=1))
    missing = resolved_incident(db, frozen_clock, title="No review")
    drafted = resolved_incident(db, frozen_clock, severity=Severity.SEV2, title="Draft only")
    start_review(db, drafted)
    done = resolved_incident(db, frozen_clock, title="Published")
    _publish(db, done)
    optional = resolved_incident(db, frozen_clock, severity=Severity.SEV3, title="Optional")
    declare(db, "Still open", severity=Severity.SEV1)
    frozen_clock.advance(timedelta(hours=49))
    resolved_incident(db, frozen_clock, title="Resolved just now")

    assert sorted(_watch(db)) == sorted([missing, drafted])
    assert _overdue_in_view(db, DEFAULT_POLICY) == {missing, drafted}
    assert _watch(db) == []  # announced once

    with_sev3 = Policy(required=frozenset({"SEV1", "SEV2", "SEV3"}), due_hours=48)
    assert _watch(db, with_sev3) == [optional]
    assert _overdue_in_view(db, with_sev3) == {missing, drafted, optional}


def test_not_a_second_before_the_deadline(db: Database, frozen_clock: clock.FrozenClock) -> None:
    key = resolved_incident(db, frozen_clock)
    frozen_clock.advance(timedelta(hours=DEFAULT_POLICY.due_hours))
    assert _watch(db) == []
    frozen_clock.advance(timedelta(seconds=1))
    assert _watch(db) == [key]


def test_an_unknown_severity_in_the_policy_matches_nothing(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    resolved_incident(db, frozen_clock)
    frozen_clock.advance(timedelta(hours=49))
    assert _watch(db, Policy(required=frozenset({"P1"}), due_hours=48)) == []


def test_once_announced_it_reads_no_incident_in_full(
    db: Database, frozen_clock: clock.FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [resolved_incident(db, frozen_clock, title=f"Outage {n}") for n in range(4)]
    _publish(db, keys[0])
    resolved_incident(db, frozen_clock, severity=Severity.SEV4, title="Minor")
    frozen_clock.advance(timedelta(hours=49))
    built: list[int] = []
    build_many = incident_service.build_many

    def counting(session: Any, rows: list[Any], **options: Any) -> Any:
        built.extend(row.id for row in rows)
        return build_many(session, rows, **options)

    monkeypatch.setattr(incident_service, "build_many", counting)
    assert sorted(_watch(db)) == sorted(keys[1:])
    assert len(built) == 3  # the three it announced, not the published one nor the SEV4
    built.clear()
    assert _watch(db) == []
    assert built == []
