"""A change's way through the CAB and production, through the services: keys, moves, CAB
decisions, windows and freezes, execution, history and audit. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from opsloop.changes import compliance, freezes
from opsloop.changes import service as changes
from opsloop.changes.rules import ChangeModel, ChangeState, Decision, RiskLevel
from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.core.errors import Conflict, Forbidden, ValidationFailed
from opsloop.incidents import service as incidents
from opsloop.incidents.rules import Severity
from opsloop.notifications import channels
from opsloop.notifications import service as notifications
from opsloop.notifications.kinds import ChannelKind
from opsloop.notifications.models import OutboxEntry
from tests.changes.helpers import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    act,
    actions,
    future,
    make_people,
    make_service,
    raise_change,
    row_counts,
)
from tests.notifications.receivers import notify_settings


@pytest.fixture
def ready(db: Database, at_now: clock.FrozenClock) -> Database:
    make_service(db, "checkout")
    make_people(db)
    return db


def test_a_normal_change_from_draft_to_completed(ready: Database) -> None:
    db = ready
    draft = raise_change(db, submit=False)
    assert draft.key == "CR-2026-001" and draft.state == ChangeState.draft
    assert draft.requester == "alice" and draft.approvals_needed == 1
    submitted = act(db, "submit", draft.key).change
    assert submitted.state == ChangeState.submitted and submitted.submitted_at == clock.now()
    approved = act(db, "approve", draft.key, BOB, comment="looks safe").change
    assert approved.state == ChangeState.approved and approved.approved_at == clock.now()
    assert [(a.approver, a.decision, a.comment) for a in approved.approvals] == [
        ("bob", Decision.approve, "looks safe")
    ]
    outcome = act(db, "schedule", draft.key, start=future(2), duration=timedelta(minutes=90))
    assert outcome.warnings == ()
    assert outcome.change.window_end == future(2) + timedelta(minutes=90)
    started = act(db, "start", draft.key).change
    assert started.state == ChangeState.in_progress and started.started_at == clock.now()
    done = act(db, "complete", draft.key, note="went well").change
    assert done.state == ChangeState.completed and done.finished_at == clock.now()
    with db.read() as session:
        past = changes.history_of_change(session, key=draft.key)
    states = [(h.before, h.after) for h in past if h.field == "state"]
    assert states == [
        (None, "draft"),
        ("draft", "submitted"),
        ("submitted", "approved"),
        ("approved", "scheduled"),
        ("scheduled", "in_progress"),
        ("in_progress", "completed"),
    ]
    assert all(h.actor for h in past)
    assert {"window_start", "window_end", "started_at", "finished_at", "approval"} <= {
        h.field for h in past
    }
    assert actions(db, draft.key) == [
        "change.create",
        "change.submit",
        "change.approve",
        "change.schedule",
        "change.start",
        "change.completed",
    ]


def test_high_risk_needs_two_approvals_and_one_rejection_rejects(ready: Database) -> None:
    db = ready
    key = raise_change(db, risk=RiskLevel.high).key
    first = act(db, "approve", key, BOB).change
    assert first.state == ChangeState.submitted and first.approvals_given == 1
    with pytest.raises(Conflict, match="already decided"):
        act(db, "approve", key, BOB)
    assert act(db, "approve", key, CAROL).change.state == ChangeState.approved
    other = raise_change(db, risk=RiskLevel.high).key
    rejected = act(db, "reject", other, CAROL, comment="no rollback test").change
    assert rejected.state == ChangeState.rejected
    with pytest.raises(Conflict):
        act(db, "approve", other, BOB)


def test_decisions_are_announced_to_the_requester(ready: Database, tmp_path: Path) -> None:
    db = ready
    with db.write() as session:
        channels.create_channel(
            session, principal=SYSTEM, settings=notify_settings(db, tmp_path), name="cab",
            kind=ChannelKind.webhook, target="http://127.0.0.1:9/hook",
        )  # fmt: skip
        notifications.subscribe(session, principal=SYSTEM, channel="cab", patterns=["change.*"])
    key = raise_change(db).key
    act(db, "approve", key, BOB, comment="fine")
    rejected = raise_change(db).key
    act(db, "reject", rejected, BOB, comment="not now")
    with db.read() as session:
        sent = [
            (row.event_type, json.loads(row.payload)["data"]["to"])
            for row in session.scalars(select(OutboxEntry).order_by(OutboxEntry.id))
        ]
    assert sent == [
        ("change.submitted", "alice"),
        ("change.approved", "alice"),
        ("change.submitted", "alice"),
        ("change.rejected", "alice"),
    ]


def test_refusals_change_nothing(ready: Database) -> None:
    db = ready
    draft = raise_change(db, submit=False).key
    mine = raise_change(db, who=BOB).key
    before = row_counts(db)
    with pytest.raises(Conflict, match="draft"):
        act(db, "approve", draft, BOB)
    with pytest.raises(Forbidden, match="cannot decide"):
        act(db, "approve", mine, BOB)
    with pytest.raises(ValidationFailed) as no_plan:
        raise_change(db, rollback_plan="")
    assert no_plan.value.field == "rollback_plan"
    with pytest.raises(ValidationFailed) as unknown:
        raise_change(db, service="chekout")
    assert unknown.value.field == "service"
    with pytest.raises(ValidationFailed) as category:
        raise_change(db, category="weather")
    assert category.value.field == "category"
    with pytest.raises(Conflict, match="cannot move from draft to scheduled"):
        act(db, "schedule", draft, start=future(), duration=timedelta(hours=1))
    with pytest.raises(Conflict, match="cannot move from submitted to in_progress"):
        act(db, "start", mine)
    approved = act(db, "approve", mine, CAROL).change.key
    after_approval = row_counts(db)
    with pytest.raises(ValidationFailed) as past:
        act(db, "schedule", approved, start=clock.now() - timedelta(minutes=1),
            duration=timedelta(hours=1))  # fmt: skip
    assert past.value.field == "window_start"
    assert row_counts(db) == after_approval
    assert before["changes"] == after_approval["changes"]


def test_a_standard_change_is_pre_approved_and_gets_no_cab(ready: Database) -> None:
    db = ready
    found = raise_change(db, model=ChangeModel.standard, rollback_plan="")
    assert found.state == ChangeState.approved and found.approved_at == clock.now()
    with db.read() as session:
        past = changes.history_of_change(session, key=found.key)
    assert [h.note for h in past if h.after == "approved"] == ["standard change: pre-approved"]
    with pytest.raises(Conflict):
        act(db, "approve", found.key, BOB)


def test_emergency_changes_start_at_once_and_must_be_approved_within_a_day(
    ready: Database, at_now: clock.FrozenClock
) -> None:
    db = ready
    late = raise_change(db, model=ChangeModel.emergency).key
    on_time = raise_change(db, model=ChangeModel.emergency).key
    act(db, "start", late)
    act(db, "start", on_time)
    at_now.advance(timedelta(hours=2))
    assert act(db, "approve", on_time, BOB).change.state == ChangeState.in_progress
    at_now.advance(timedelta(hours=23))
    with db.read() as session:
        found = compliance.non_compliant_emergencies(session)
    assert [c.key for c in found] == [late]
    act(db, "approve", late, BOB)  # approved, but 25 h after it started
    with db.read() as session:
        assert [c.key for c in compliance.non_compliant_emergencies(session)] == [late]


def test_a_rejection_after_an_emergency_started_stays_on_record(ready: Database) -> None:
    db = ready
    key = raise_change(db, model=ChangeModel.emergency).key
    act(db, "start", key)
    rejected = act(db, "reject", key, BOB, comment="should have waited").change
    assert rejected.state == ChangeState.in_progress and rejected.approved_at is None
    assert [w.kind for w in rejected.warnings] == ["rejected"]
    approved = act(db, "approve", key, CAROL).change
    assert approved.approved_at == clock.now() and approved.state == ChangeState.in_progress
    with pytest.raises(Conflict):
        act(db, "approve", key, ADMIN)  # approved already: nothing left to decide


def test_freezes_block_scheduling_except_emergencies_and_overlaps_warn(ready: Database) -> None:
    db = ready
    make_service(db, "search")
    with db.write() as session:
        freezes.create_freeze(
            session,
            principal=BOB,
            name="Black Friday",
            starts_at=future(48),
            ends_at=future(72),
            reason="peak sales",
        )
    normal = raise_change(db).key
    act(db, "approve", normal, BOB)
    before = row_counts(db)
    with pytest.raises(Conflict, match="Black Friday") as refused:
        act(db, "schedule", normal, start=future(60), duration=timedelta(hours=1))
    assert refused.value.field == "window_start" and row_counts(db) == before
    first = act(db, "schedule", normal, start=future(2), duration=timedelta(hours=2))
    assert first.warnings == ()
    second = raise_change(db).key
    act(db, "approve", second, BOB)
    overlapping = act(db, "schedule", second, start=future(3), duration=timedelta(hours=1))
    assert len(overlapping.warnings) == 1 and normal in overlapping.warnings[0]
    assert [w.kind for w in overlapping.change.warnings] == ["schedule"]
    emergency = raise_change(db, model=ChangeModel.emergency).key
    act(db, "approve", emergency, BOB)
    passed = act(db, "schedule", emergency, start=future(60), duration=timedelta(hours=1))
    assert passed.change.state == ChangeState.scheduled
    assert "Black Friday" in passed.warnings[0]


def test_failure_and_rollback_record_reason_and_incident(ready: Database) -> None:
    db = ready
    with db.write() as session:
        incident = incidents.declare(
            session, principal=ALICE, title="Checkout down", severity=Severity.SEV2
        )
    failing = raise_change(db, model=ChangeModel.emergency).key
    act(db, "start", failing)
    with pytest.raises(ValidationFailed) as no_reason:
        act(db, "fail", failing, reason=" ")
    assert no_reason.value.field == "reason"
    failed = act(db, "fail", failing, reason="migration timed out").change
    assert failed.state == ChangeState.failed and failed.outcome_reason == "migration timed out"
    done = raise_change(db, model=ChangeModel.emergency).key
    act(db, "start", done)
    act(db, "complete", done)
    with pytest.raises(ValidationFailed) as unknown:
        act(db, "rollback", done, reason="errors", incident_key="INC-2026-999")
    assert unknown.value.field == "incident_key"
    rolled = act(db, "rollback", done, reason="errors", incident_key=incident.key).change
    assert rolled.state == ChangeState.rolled_back and rolled.incident_key == incident.key
    with pytest.raises(Conflict):
        act(db, "rollback", done, reason="again")


def test_edits_land_on_the_history_and_decided_fields_lock(ready: Database) -> None:
    db = ready
    key = raise_change(db).key
    with db.write() as session:
        changes.update(
            session, principal=ALICE, key=key, changes={"risk": "high", "title": "Upgrade PG 17"}
        )
    with db.read() as session:
        past = changes.history_of_change(session, key=key)
    assert [(h.field, h.before, h.after) for h in past if h.field in ("risk", "title")] == [
        ("risk", "medium", "high"),
        ("title", "Upgrade the database", "Upgrade PG 17"),
    ]
    act(db, "approve", key, BOB)
    act(db, "approve", key, CAROL)
    with pytest.raises(Conflict) as locked, db.write() as session:
        changes.update(session, principal=ALICE, key=key, changes={"risk": "low"})
    assert locked.value.field == "risk"
    with pytest.raises(ValidationFailed), db.write() as session:
        changes.update(session, principal=ALICE, key=key, changes={"rollback_plan": ""})
    assert "change.update" in actions(db, key)


def test_changes_of_a_service_for_later_reports(ready: Database) -> None:
    db = ready
    ran = raise_change(db, model=ChangeModel.emergency).key
    act(db, "start", ran)
    planned = raise_change(db).key
    act(db, "approve", planned, BOB)
    act(db, "schedule", planned, start=future(5), duration=timedelta(hours=1))
    raise_change(db)  # neither started nor scheduled
    with db.read() as session:
        found = changes.changes_of_service(
            session, service="checkout", since=clock.now(), until=future(24)
        )
    assert [c.key for c in found] == [ran, planned]
