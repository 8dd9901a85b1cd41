"""Status moves, acknowledgement and the response target, timeline events, status updates
from templates with the overdue flag, and the resolution record. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opsloop.core import clock
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.db import Database
from opsloop.core.errors import Conflict, Forbidden, ValidationFailed
from opsloop.incidents import lifecycle, views
from opsloop.incidents import service as incidents
from opsloop.incidents.resolution import parse_record
from opsloop.incidents.rules import Severity, Status, response_targets
from opsloop.incidents.vocabulary import Audience, EventKind
from tests.incidents.helpers import RESPONDER, actions, declare, make_people, make_service

APPROVER = Principal(actor="approver", role=Role.approver)


def move(db: Database, key: str, status: Status, note: str = "") -> object:
    with db.write() as session:
        return lifecycle.change_status(
            session, principal=RESPONDER, key=key, status=status, note=note
        )


def events(db: Database, key: str) -> list[lifecycle.timeline.EventView]:
    with db.read() as session:
        return list(lifecycle.timeline_of(session, key=key))


def test_moves_forward_skip_backward_refused_and_reopening_recorded(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    key = declare(db).key
    frozen_clock.advance(timedelta(minutes=10))
    found = move(db, key, Status.monitoring, "rolled back the deploy")  # skips two states
    assert found.mitigated_at == frozen_clock.current  # type: ignore[attr-defined]
    with pytest.raises(Conflict) as caught:
        move(db, key, Status.identified)
    assert caught.value.status == 409 and caught.value.field == "status"
    frozen_clock.advance(timedelta(minutes=10))
    resolved_at = frozen_clock.current
    assert move(db, key, Status.resolved).resolved_at == resolved_at  # type: ignore[attr-defined]
    frozen_clock.advance(timedelta(minutes=10))
    closed = move(db, key, Status.closed)
    assert closed.closed_at == frozen_clock.current  # type: ignore[attr-defined]
    reopened = move(db, key, Status.investigating)
    assert (reopened.resolved_at, reopened.closed_at) == (None, None)  # type: ignore[attr-defined]
    assert reopened.mitigated_at is not None  # type: ignore[attr-defined]
    changes = [e.change for e in events(db, key) if e.change]
    fields_changed = [(c["field"], c["before"], c["after"]) for c in changes]
    assert ("status", "investigating", "monitoring") in fields_changed
    assert ("status", "closed", "investigating") in fields_changed
    assert ("resolved_at", resolved_at.isoformat(), None) in fields_changed  # old value kept
    reopen = next(e for e in events(db, key) if e.text.startswith("reopened"))
    assert reopen.automatic and reopen.kind == EventKind.response
    assert actions(db, key) == [
        "incident.declare",
        "incident.status",
        "incident.status",
        "incident.status",
        "incident.reopen",
    ]
    with pytest.raises(Conflict):
        move(db, key, Status.investigating)  # staying put is no move


def test_acknowledge_sets_the_time_once_and_the_response_state_follows_the_target(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    targets = response_targets({"SEV2": 30})
    key = declare(db).key
    with db.read() as session:
        assert incidents.get_incident(session, key=key, targets=targets).response_state == "pending"
    frozen_clock.advance(timedelta(minutes=31))
    with db.read() as session:
        found = incidents.get_incident(session, key=key, targets=targets)
    assert found.response_state == "overdue"
    assert found.response_due_at == found.declared_at + timedelta(minutes=30)
    with db.write() as session:
        acked = lifecycle.acknowledge(session, principal=RESPONDER, key=key, targets=targets)
    assert acked.acknowledged_at == frozen_clock.current and acked.response_state == "late"
    with db.read() as session:  # the default target (1 h) was met
        assert incidents.get_incident(session, key=key).response_state == "met"
    with pytest.raises(Conflict), db.write() as session:
        lifecycle.acknowledge(session, principal=RESPONDER, key=key)
    assert [e.text for e in events(db, key)][-1] == "acknowledged by responder"


def test_status_updates_from_templates_and_the_overdue_flag(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    make_service(db, "checkout")
    make_people(db, "alice")
    key = declare(db, services=["checkout"], commander="alice", users_affected=10).key
    with db.write() as session:
        posted = lifecycle.post_update(
            session,
            principal=RESPONDER,
            key=key,
            audience=Audience.internal,
            template="investigating",
            next_update_at=frozen_clock.current + timedelta(minutes=30),
        )
    assert posted.kind == EventKind.communication and posted.audience == Audience.internal
    assert posted.text.startswith(f"[{key}] SEV2 Checkout errors: investigating.")
    assert "Services: checkout. Impact: 10 users affected. Commander: alice." in posted.text
    assert "Next update by 2026-11-02 09:30 UTC." in posted.text
    with db.read() as session:
        assert not incidents.get_incident(session, key=key).update_overdue
    frozen_clock.advance(timedelta(minutes=31))
    with db.read() as session:
        assert incidents.get_incident(session, key=key).update_overdue
        assert [i.update_overdue for i in incidents.list_incidents(session)] == [True]
    with db.write() as session:  # no time given: the severity's interval (SEV2: 1 h)
        later = lifecycle.post_update(
            session, principal=RESPONDER, key=key, audience=Audience.external, text="Still on it"
        )
    assert later.next_update_at == frozen_clock.current + timedelta(hours=1)
    with db.read() as session:
        assert not incidents.get_incident(session, key=key).update_overdue
    move(db, key, Status.resolved)
    frozen_clock.advance(timedelta(hours=2))
    with db.read() as session:  # a resolved incident owes no updates
        assert not incidents.get_incident(session, key=key).update_overdue


def test_templates_are_edited_checked_and_reset(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    with db.write() as session:
        lifecycle.put_templates(
            session,
            principal=APPROVER,
            templates=[("resolved", Audience.external, "{key} is over ({severity}). {{ok}}")],
        )
    key = declare(db, severity=Severity.SEV4).key
    with db.write() as session:
        posted = lifecycle.post_update(
            session, principal=RESPONDER, key=key, audience=Audience.external, template="resolved"
        )
    assert posted.text == f"{key} is over (SEV4). {{ok}}"
    for body, in_message in (("{title.__class__}", "unknown placeholder"), ("{x", "braces")):
        with pytest.raises(ValidationFailed) as caught, db.write() as session:
            lifecycle.put_templates(
                session, principal=APPROVER, templates=[("resolved", Audience.internal, body)]
            )
        assert caught.value.field == "templates[0].body" and in_message in caught.value.message
    with pytest.raises(Forbidden), db.write() as session:
        lifecycle.put_templates(
            session, principal=RESPONDER, templates=[("resolved", Audience.internal, "x")]
        )
    with db.write() as session:
        shown = lifecycle.put_templates(
            session, principal=APPROVER, templates=[("resolved", Audience.external, None)]
        )
    assert not any(t.customised for t in shown) and len(shown) == 8


def test_timeline_events_and_their_checks(db: Database, frozen_clock: clock.FrozenClock) -> None:
    key = declare(db).key
    with db.write() as session:
        lifecycle.add_event(
            session,
            principal=RESPONDER,
            key=key,
            kind=EventKind.escalation,
            text="paged the database team",
            at=frozen_clock.current - timedelta(minutes=1),
        )
    kinds = [(e.kind.value, e.automatic) for e in events(db, key)]
    assert ("escalation", False) in kinds
    for kind, text, field in (
        (EventKind.note, " ", "text"),
        (EventKind.communication, "hi", "kind"),
    ):
        with pytest.raises(ValidationFailed) as caught, db.write() as session:
            lifecycle.add_event(session, principal=RESPONDER, key=key, kind=kind, text=text)
        assert caught.value.field == field


def test_resolution_record_is_validated_audited_and_durations_computed(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    key = declare(db, started_at=frozen_clock.current - timedelta(minutes=12)).key
    record = parse_record(
        {
            "diagnosis": {"root_cause": "pool exhausted", "contributing_factors": ["no alert"]},
            "resolution": {"fix_applied": "raised the pool"},
            "verification": {"service_restored": True},
        }
    )
    with db.write() as session:
        found = lifecycle.set_resolution(session, principal=RESPONDER, key=key, record=record)
    assert found.resolution.diagnosis.root_cause == "pool exhausted"
    assert found.resolution.verification.service_restored
    assert found.durations() == {"time_to_detect_minutes": 12.0, "time_to_resolve_minutes": None}
    assert actions(db, key)[-1] == "incident.resolution"
    with pytest.raises(ValidationFailed) as caught:
        parse_record({"verification": {"service_restored": "perhaps"}})
    assert caught.value.field == "resolution.verification.service_restored"
    with pytest.raises(ValidationFailed) as caught:
        parse_record({"diagnosis": {"who_did_it": "x"}})
    assert caught.value.field == "resolution.diagnosis.who_did_it"


def test_lists_leave_the_resolution_record_unread_until_it_is_asked_for(
    db: Database, frozen_clock: clock.FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = declare(db, started_at=frozen_clock.current - timedelta(minutes=5)).key
    record = parse_record({"resolution": {"fix_applied": "restarted the pool"}})
    with db.write() as session:
        lifecycle.set_resolution(session, principal=RESPONDER, key=key, record=record)
    read: list[str] = []
    real = views.load_record
    monkeypatch.setattr(views, "load_record", lambda raw: read.append(raw) or real(raw))
    with db.read() as session:
        (found,) = incidents.list_incidents(session)
    assert read == []
    assert found.resolution.resolution.fix_applied == "restarted the pool"
    assert found.resolution is found.resolution and len(read) == 1
