"""Review services on SQLite and PostgreSQL: created prefilled from the incident, one per
incident, edited, moved draft -> in review -> published, revised after publishing with the
published revision kept, timeline kept apart from the incident's, meeting checked, every
write audited and publishing announced."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from opsloop.actions import service as action_items
from opsloop.actions.rules import Priority
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.db import Database
from opsloop.core.errors import Conflict, NotFound, ValidationFailed
from opsloop.incidents import lifecycle
from opsloop.incidents.rules import Severity
from opsloop.pirs import reading
from opsloop.pirs import service as pirs
from opsloop.pirs.rules import PirState
from tests.helpers import statements_run
from tests.incidents.helpers import RESPONDER, VIEWER, actions, make_people
from tests.pirs.helpers import (
    WHYS,
    outbox_rows,
    ready_review,
    resolved_incident,
    start_review,
    subscribe_all,
)
from tests.services.helpers import audit_count


def test_created_prefilled_from_the_incident_and_only_once(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    key = resolved_incident(db, frozen_clock, minutes=95)
    found = start_review(db, key)
    assert found.state == PirState.draft and found.revision == 1
    assert found.content.summary == "Checkout failed for most users"
    assert (found.content.impact.users_affected, found.content.impact.revenue) == (1200, "~3k EUR")
    assert found.incident.duration_minutes == 95
    assert found.incident.required and found.incident.due_at == clock.now() + timedelta(hours=48)
    assert any(e.text == "rolled back" for e in found.content.timeline)
    assert all(e.source_event_id for e in found.content.timeline)
    with pytest.raises(Conflict), db.write() as session:
        pirs.create_pir(session, principal=RESPONDER, key=key)
    with pytest.raises(NotFound), db.write() as session:
        pirs.create_pir(session, principal=RESPONDER, key="INC-2026-999")
    assert actions(db, key).count("pir.create") == 1


def test_states_publish_and_revisions(
    db: Database, frozen_clock: clock.FrozenClock, tmp_path: Path
) -> None:
    subscribe_all(db, tmp_path)
    key = resolved_incident(db, frozen_clock)
    start_review(db, key)
    with pytest.raises(Conflict), db.write() as session:  # no skipping review
        pirs.move_pir(session, principal=RESPONDER, key=key, state=PirState.published)
    with db.write() as session:
        pirs.move_pir(session, principal=RESPONDER, key=key, state=PirState.in_review)
    with pytest.raises(ValidationFailed) as missing, db.write() as session:
        pirs.move_pir(session, principal=RESPONDER, key=key, state=PirState.published)
    assert missing.value.field == "root_cause"
    with db.write() as session:
        pirs.update_pir(
            session, principal=RESPONDER, key=key, changes={"root_cause": "pool", "whys": WHYS}
        )
        published = pirs.move_pir(session, principal=RESPONDER, key=key, state=PirState.published)
    assert published.state == PirState.published and published.published_at == clock.now()
    assert published.content.whys[1].question == "Why the database refused connections?"
    assert outbox_rows(db, "pir.published") == 1
    with pytest.raises(Conflict), db.write() as session:  # backward
        pirs.move_pir(session, principal=RESPONDER, key=key, state=PirState.in_review)
    with db.write() as session:
        revised = pirs.update_pir(
            session, principal=RESPONDER, key=key, changes={"lessons_learned": "size pools"}
        )
    assert (revised.state, revised.revision) == (PirState.draft, 2)
    with db.read() as session:
        kept = reading.revisions(session, key=key)
        assert [r.revision for r in kept] == [1]
        assert kept[0].content.lessons_learned == ""
        with pytest.raises(NotFound):
            reading.revision(session, key=key, number=2)
    with db.write() as session:
        pirs.move_pir(session, principal=RESPONDER, key=key, state=PirState.in_review)
        pirs.move_pir(session, principal=RESPONDER, key=key, state=PirState.published)
    with db.read() as session:
        assert [r.revision for r in reading.revisions(session, key=key)] == [1, 2]
        assert reading.revision(session, key=key, number=2).content.lessons_learned == "size pools"
    assert outbox_rows(db, "pir.published") == 2
    assert actions(db, key).count("pir.state") == 4


def test_timeline_is_the_reviews_own(db: Database, frozen_clock: clock.FrozenClock) -> None:
    key = resolved_incident(db, frozen_clock)
    start_review(db, key)
    with db.read() as session:
        before = len(lifecycle.timeline_of(session, key=key))
    at = datetime(2026, 11, 2, 9, 5, tzinfo=UTC)
    with db.write() as session:
        found = pirs.add_timeline_entry(
            session, principal=RESPONDER, key=key, text="DBA paged", at=at
        )
    texts = [e.text for e in found.content.timeline]
    assert "DBA paged" in texts and texts.index("DBA paged") < texts.index("rolled back") + 2
    with db.read() as session:
        assert len(lifecycle.timeline_of(session, key=key)) == before
    assert "pir.timeline" in actions(db, key)


def test_bad_input_names_the_field_and_writes_nothing(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    key = resolved_incident(db, frozen_clock)
    start_review(db, key)
    before = audit_count(db)
    cases = [
        ({"whys": [{"question": "Why?", "answer": ""}]}, "whys[0].answer"),
        ({"whys": [{"question": "", "answer": "x"}]}, "whys[0].question"),
        ({"whys": [{"position": 2, "question": "Why?", "answer": "x"}]}, "whys[0].position"),
        ({"impact": {"users_affected": -1}}, "impact.users_affected"),
        ({"blame": "bob"}, "blame"),
    ]
    for changes, field in cases:
        with pytest.raises(ValidationFailed) as refused, db.write() as session:
            pirs.update_pir(session, principal=RESPONDER, key=key, changes=changes)
        assert refused.value.field == field
    with pytest.raises(ValidationFailed) as refused, db.write() as session:
        pirs.schedule_review(
            session,
            principal=RESPONDER,
            key=key,
            meeting={"scheduled_at": "2026-11-05T10:00:00Z", "attendees": ["nobody"]},
        )
    assert refused.value.field == "review_meeting.attendees[0]"
    with pytest.raises(Exception, match="responder"), db.write() as session:
        pirs.update_pir(session, principal=VIEWER, key=key, changes={"summary": "x"})
    assert audit_count(db) == before


def test_review_meeting_and_optional_reviews(db: Database, frozen_clock: clock.FrozenClock) -> None:
    make_people(db, "alice", "bob")
    key = resolved_incident(db, frozen_clock, severity=Severity.SEV3)
    found = start_review(db, key)
    assert not found.incident.required and not found.overdue
    with db.write() as session:
        first, second = (
            action_items.create_item(
                session, principal=RESPONDER, incident_key=key, description=text,
                owner_user="alice", priority=Priority.P2, due_on=date(2026, 11, 20),
            ).id
            for text in ("alert on saturation", "load test")
        )  # fmt: skip
    with db.write() as session:
        found = pirs.schedule_review(
            session,
            principal=RESPONDER,
            key=key,
            meeting={
                "scheduled_at": "2026-11-05T10:00:00Z",
                "attendees": ["alice", "bob"],
                "notes": "walked the timeline",
                "validated_action_items": [second, first],
            },
        )
    assert found.review_meeting is not None
    assert found.review_meeting.attendees == ["alice", "bob"]
    assert found.review_meeting.validated_action_items == [second, first]
    assert "pir.review_meeting" in actions(db, key)


def test_list_filters_state_and_overdue(db: Database, frozen_clock: clock.FrozenClock) -> None:
    late = resolved_incident(db, frozen_clock)
    start_review(db, late)
    frozen_clock.advance(timedelta(hours=49))
    fresh = resolved_incident(db, frozen_clock, title="Search slow")
    ready_review(db, fresh)
    with db.read() as session:
        assert [p.key for p in reading.list_pirs(session)] == [fresh, late]
        assert [p.key for p in reading.list_pirs(session, overdue=True)] == [late]
        assert [p.key for p in reading.list_pirs(session, overdue=False)] == [fresh]
        assert reading.list_pirs(session, state=PirState.published) == []
        assert [p.key for p in reading.list_pirs(session, limit=1)] == [fresh]


def test_an_edit_is_audited_with_only_what_changed(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    key = resolved_incident(db, frozen_clock)
    start_review(db, key)
    with db.write() as session:
        pirs.update_pir(session, principal=RESPONDER, key=key, changes={"went_well": "calm"})
    with db.read() as session:
        records = list(audit.iterate(session, flt=audit.AuditFilter(entity_id=key)))
    last = records[-1]
    assert last.action == "pir.update"
    assert json.loads(last.changes) == {"went_well": {"before": "", "after": "calm"}}


def test_the_list_reads_its_incidents_in_one_statement_per_page(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    keys = [resolved_incident(db, frozen_clock, minutes=5 + n) for n in range(12)]
    for key in keys:
        start_review(db, key)
    with statements_run(db, "FROM incidents") as seen, db.read() as session:
        listed = reading.list_pirs(session, limit=20)
    assert [v.incident.key for v in listed] == list(reversed(keys))
    assert len(seen) == 1, seen
