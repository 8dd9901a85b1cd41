"""The compliance views and the overdue announcement: required reviews past their deadline
(missing or unpublished), responses later than their target (acknowledged late, or never and
past it), through the service, the API and the minute job (announced once, even by runs at
the same time). SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.incidents import lifecycle
from opsloop.incidents.rules import Severity
from opsloop.pirs import compliance, jobs
from opsloop.pirs import service as pirs
from opsloop.pirs.rules import PirState
from opsloop.pirs.service import DEFAULT_POLICY
from opsloop.pirs.views import Policy
from tests.helpers import bearer
from tests.incidents.helpers import RESPONDER, declare
from tests.pirs.helpers import (
    outbox_rows,
    ready_review,
    resolved_incident,
    start_review,
    subscribe_all,
)


def _report(db: Database, **values: object) -> compliance.ComplianceReport:
    with db.read() as session:
        return compliance.incident_compliance(session, **values)  # type: ignore[arg-type]


def test_overdue_reviews(db: Database, frozen_clock: clock.FrozenClock) -> None:
    missing = resolved_incident(db, frozen_clock, title="No review")
    drafted = resolved_incident(db, frozen_clock, severity=Severity.SEV2, title="Draft only")
    start_review(db, drafted)
    done = resolved_incident(db, frozen_clock, title="Published")
    ready_review(db, done)
    with db.write() as session:
        pirs.move_pir(session, principal=RESPONDER, key=done, state=PirState.in_review)
        pirs.move_pir(session, principal=RESPONDER, key=done, state=PirState.published)
    resolved_incident(db, frozen_clock, severity=Severity.SEV3, title="Optional")
    declare(db, "Still open", severity=Severity.SEV1)
    assert _report(db).overdue_reviews == []  # nothing is 48 h past resolution yet
    frozen_clock.advance(timedelta(hours=40))  # the first was resolved 44.5 h ago
    assert _report(db).overdue_reviews == []
    frozen_clock.advance(timedelta(hours=10))
    found = _report(db)
    assert [(r.incident.key, r.state) for r in found.overdue_reviews] == [
        (drafted, PirState.draft),
        (missing, None),
    ]
    assert not found.ok
    with_sev3 = Policy(required=frozenset({"SEV1", "SEV2", "SEV3"}), due_hours=48)
    assert len(_report(db, policy=with_sev3).overdue_reviews) == 3
    longer = Policy(required=DEFAULT_POLICY.required, due_hours=24 * 7)
    assert _report(db, policy=longer).overdue_reviews == []
    assert _report(db, window=timedelta(hours=1)).overdue_reviews == []


def test_late_responses(db: Database, frozen_clock: clock.FrozenClock) -> None:
    in_time = resolved_incident(db, frozen_clock, title="Acked at once")
    late = declare(db, "Acked late", severity=Severity.SEV1).key
    never = declare(db, "Never acked", severity=Severity.SEV2).key
    pending = declare(db, "Not yet due", severity=Severity.SEV4).key
    frozen_clock.advance(timedelta(minutes=20))  # past SEV1's 15 min, within SEV2's hour
    with db.write() as session:
        lifecycle.acknowledge(session, principal=RESPONDER, key=late)
    assert [r.key for r in _report(db).late_responses] == [late]
    frozen_clock.advance(timedelta(hours=1))
    found = _report(db).late_responses
    assert [(r.key, r.state) for r in found] == [(never, "overdue"), (late, "late")]
    assert round(found[1].minutes_late) == 5
    assert in_time not in [r.key for r in found] and pending not in [r.key for r in found]


def test_the_api_reports_and_refuses_a_bad_window(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    viewer = bearer(tokens[Role.viewer])
    ok = client.get("/api/v1/compliance/incidents", headers=viewer)
    assert ok.status_code == 200 and ok.json()["compliant"] is True
    key = resolved_incident(db, frozen_clock, acknowledge=False)
    frozen_clock.advance(timedelta(hours=50))
    found = client.get("/api/v1/compliance/incidents?since=7d", headers=viewer).json()
    assert found["compliant"] is False
    assert [r["key"] for r in found["overdue_reviews"]] == [key]
    assert found["overdue_reviews"][0]["pir_state"] is None
    assert [r["key"] for r in found["late_responses"]] == [key]
    bad = client.get("/api/v1/compliance/incidents?since=soon", headers=viewer)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "since"


def test_overdue_is_announced_once_even_by_concurrent_runs(
    db: Database, frozen_clock: clock.FrozenClock, tmp_path: Path
) -> None:
    subscribe_all(db, tmp_path)
    key = resolved_incident(db, frozen_clock)
    with db.write(audited=False) as session:
        assert jobs.announce_overdue(session, now=clock.now(), policy=DEFAULT_POLICY) == []
    frozen_clock.advance(timedelta(hours=49))
    barrier = threading.Barrier(4)
    announced: list[list[str]] = []

    def run() -> None:
        barrier.wait()
        with db.write(audited=False) as session:
            announced.append(jobs.announce_overdue(session, now=clock.now(), policy=DEFAULT_POLICY))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(announced) == 4  # every run ended without an error
    assert sorted(k for keys in announced for k in keys) == [key]
    assert outbox_rows(db, "pir.overdue") == 1
    (job,) = jobs.jobs(Settings(database_url=db.url, data_dir=tmp_path))
    assert job.name == "pir-watch"
    job.run(db, clock.now())
    assert outbox_rows(db, "pir.overdue") == 1
