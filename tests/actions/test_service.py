"""Action item services: adding with checked owners and dates, edits, status moves with notes,
queries across reviews, and the items of one incident for the review pages. SQLite and
PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from opsloop.actions import announcing
from opsloop.actions import service as actions
from opsloop.actions.models import ActionItem
from opsloop.actions.rules import ItemStatus, Priority
from opsloop.core import clock
from opsloop.core.db import Database
from opsloop.core.errors import Forbidden, NotFound, ValidationFailed
from opsloop.incidents import service as incidents
from tests.actions.helpers import (
    RESPONDER,
    START,
    VIEWER,
    add,
    incident,
    make_team,
    sent,
    subscribe_all,
)
from tests.services.helpers import actions as audited
from tests.services.helpers import audit_count


@pytest.fixture
def key(db: Database, frozen_clock: clock.FrozenClock) -> str:
    make_team(db, "payments", {"lena": "lead", "alice": "member"})
    return incident(db).key


def _refused(db: Database, field: str, **values: object) -> None:
    values = {"incident_key": "INC-2026-001", "description": "x", "priority": "P2",
              "due_on": date(2026, 11, 20), "owner_user": "alice", **values}  # fmt: skip
    before = audit_count(db)
    with pytest.raises(ValidationFailed) as refused, db.write() as session:
        actions.create_item(session, principal=RESPONDER, **values)  # type: ignore[arg-type]
    assert refused.value.field == field, refused.value.message
    assert audit_count(db) == before
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ActionItem)) == 0


def test_adding_checks_the_owner_priority_and_due_date(db: Database, key: str) -> None:
    _refused(db, "owner", owner_user=None)
    _refused(db, "owner", owner_user="alice", owner_team="payments")
    _refused(db, "owner_user", owner_user="nobody")
    _refused(db, "owner_team", owner_user=None, owner_team="ghosts")
    _refused(db, "priority", priority="P7")
    _refused(db, "description", description="   ")
    # The incident started 2026-11-02: a due date before it makes no sense.
    _refused(db, "due_on", due_on=date(2026, 11, 1))
    with pytest.raises(NotFound), db.write() as session:
        actions.create_item(
            session, principal=RESPONDER, incident_key="INC-2026-999", description="x",
            owner_user="alice", priority="P2", due_on=date(2026, 11, 20),
        )  # fmt: skip
    with pytest.raises(Forbidden), db.write() as session:
        actions.create_item(
            session, principal=VIEWER, incident_key=key, description="x",
            owner_user="alice", priority="P2", due_on=date(2026, 11, 20),
        )  # fmt: skip


def test_an_item_is_added_audited_and_its_owner_told(
    db: Database, key: str, tmp_path: Path
) -> None:
    subscribe_all(db, tmp_path)
    by_user = add(db, key, owner_user="alice", priority="p1")
    by_team = add(db, key, owner_team="payments", due_on=date(2026, 11, 2))
    assert by_user.owner == "alice" and by_user.priority is Priority.P1
    assert by_team.owner == "team:payments" and by_team.owner_team == "payments"
    assert by_user.status is ItemStatus.open and by_user.created_by == "responder"
    assert by_user.created_at == START and by_user.completed_at is None
    assert audited(db, "action_item") == ["action_item.create"] * 2
    told = sent(db, announcing.ASSIGNED)
    assert [t["owner"] for t in told] == ["alice", "team:payments"]
    assert told[1]["team"] == "payments" and told[0]["incident"] == key


def test_status_moves_keep_a_history_and_wont_do_needs_a_reason(
    db: Database, key: str, frozen_clock: clock.FrozenClock
) -> None:
    item = add(db, key, owner_user="alice")
    frozen_clock.advance(timedelta(hours=1))
    with db.write() as session:
        moved = actions.update_item(
            session, principal=RESPONDER, item_id=item.id, changes={"status": "in progress"}
        )
    assert moved.status is ItemStatus.in_progress and moved.updated_at == START + timedelta(hours=1)
    assert [(n.status_change, n.text) for n in moved.notes] == [("open -> in_progress", "")]
    before = audit_count(db)
    with pytest.raises(ValidationFailed) as refused, db.write() as session:
        actions.update_item(
            session, principal=RESPONDER, item_id=item.id, changes={"status": "wont_do"}
        )
    assert refused.value.field == "note" and audit_count(db) == before
    frozen_clock.advance(timedelta(hours=1))
    with db.write() as session:
        dropped = actions.update_item(
            session, principal=RESPONDER, item_id=item.id, changes={"status": "wont_do"},
            note="superseded by the pool rewrite",
        )  # fmt: skip
    assert dropped.status is ItemStatus.wont_do
    assert dropped.completed_at == START + timedelta(hours=2)
    assert dropped.notes[-1].text == "superseded by the pool rewrite"
    assert dropped.notes[-1].author == "responder"
    with db.write() as session:
        reopened = actions.update_item(
            session, principal=RESPONDER, item_id=item.id, changes={"status": "open"}
        )
        noted = actions.add_note(session, principal=RESPONDER, item_id=item.id, text="still needed")
    assert reopened.completed_at is None and noted.notes[-1].text == "still needed"
    assert audited(db, "action_item") == [
        "action_item.create", "action_item.update", "action_item.update",
        "action_item.update", "action_item.note",
    ]  # fmt: skip


def test_edits_are_checked_like_new_items(db: Database, key: str, tmp_path: Path) -> None:
    item = add(db, key, owner_user="alice")
    for changes, field in [
        ({"owner_user": "ghost"}, "owner_user"),
        ({"owner_user": "alice", "owner_team": "payments"}, "owner"),
        ({"due_on": date(2026, 10, 1)}, "due_on"),
        ({"priority": "urgent"}, "priority"),
        ({"status": "finished"}, "status"),
        ({"description": None}, "description"),
        ({"incident_id": 3}, "incident_id"),
        ({}, "changes"),
    ]:
        with pytest.raises(ValidationFailed) as refused, db.write() as session:
            actions.update_item(session, principal=RESPONDER, item_id=item.id, changes=changes)
        assert refused.value.field == field
    subscribe_all(db, tmp_path)
    with db.write() as session:
        changes = {"owner_team": "payments", "priority": Priority.P3, "due_on": date(2026, 12, 1)}
        moved = actions.update_item(session, principal=RESPONDER, item_id=item.id, changes=changes)
    assert moved.owner == "team:payments" and moved.owner_user is None
    assert moved.priority is Priority.P3 and moved.due_on == date(2026, 12, 1)
    assert [t["owner"] for t in sent(db, announcing.ASSIGNED)] == ["team:payments"]
    with pytest.raises(NotFound), db.read() as session:
        actions.get_item(session, item_id=999)


def test_queries_across_reviews(db: Database, key: str, frozen_clock: clock.FrozenClock) -> None:
    other = incident(db, title="Search slow").key
    make_team(db, "search", {"sam": "lead"})
    # Today is 2026-11-02.
    overdue = add(db, key, owner_user="alice", due_on=date(2026, 11, 2))
    soon = add(db, key, owner_team="payments", due_on=date(2026, 11, 9), priority="P1")
    later = add(db, other, owner_user="sam", due_on=date(2026, 12, 20), priority="P3")
    closed = add(db, other, owner_user="lena", due_on=date(2026, 11, 2))
    with db.write() as session:
        actions.update_item(session, principal=RESPONDER, item_id=closed.id,
                            changes={"status": "done"})  # fmt: skip
    frozen_clock.advance(timedelta(days=1))  # 2026-11-03: items due 11-02 are overdue

    def ids(**values: object) -> list[int]:
        with db.read() as session:
            flt = actions.ItemFilter(**values)  # type: ignore[arg-type]
            return [i.id for i in actions.list_items(session, flt=flt)]

    assert ids() == [closed.id, later.id, soon.id, overdue.id]
    assert ids(overdue=True) == [overdue.id]
    # 11-03 + 6 days = 11-09: due within 6 days includes the 11-09 item, 5 does not.
    assert ids(due_within_days=6) == [soon.id]
    assert ids(due_within_days=5) == []
    assert ids(owner="alice") == [overdue.id]
    assert ids(owner="team:payments") == [soon.id]
    # The team's own items and its members' (lena, alice).
    assert ids(team="payments") == [closed.id, soon.id, overdue.id]
    assert ids(status=ItemStatus.done) == [closed.id]
    assert ids(open_only=True) == [later.id, soon.id, overdue.id]
    assert ids(priority=Priority.P1) == [soon.id]
    assert ids(incident=other.lower()) == [closed.id, later.id]
    assert ids(team="search", overdue=True) == []
    with db.read() as session:
        assert actions.count_items(session, flt=actions.ItemFilter(open_only=True)) == 3
        page = actions.list_items(session, before_id=soon.id, limit=1)
        assert [i.id for i in page] == [overdue.id]
    with pytest.raises(ValidationFailed) as refused, db.read() as session:
        actions.list_items(session, flt=actions.ItemFilter(team="ghosts"))
    assert refused.value.field == "team"
    with pytest.raises(ValidationFailed) as unknown, db.read() as session:
        actions.list_items(session, flt=actions.ItemFilter(incident="INC-2026-404"))
    assert unknown.value.field == "incident"


def test_items_of_an_incident_for_the_review_pages(db: Database, key: str) -> None:
    first = add(db, key, owner_user="alice", description="first")
    second = add(db, key, owner_team="payments", description="second")
    add(db, incident(db, title="Other").key, owner_user="alice")
    with db.read() as session:
        incident_id = incidents.get_incident(session, key=key).id
        found = actions.items_of_incident(session, incident_id)
    assert [i.id for i in found] == [first.id, second.id]
    view = found[1]
    assert dataclasses.is_dataclass(view)
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.status = ItemStatus.done  # type: ignore[misc]
    assert (view.description, view.owner, view.priority, view.status) == (
        "second", "team:payments", "P2", "open",
    )  # fmt: skip
    assert view.due_on == date(2026, 11, 20)


def test_deleting_an_incident_deletes_its_items(db: Database, key: str) -> None:
    add(db, key, owner_user="alice")
    with db.write() as session:
        session.execute(incidents.Incident.__table__.delete())  # type: ignore[attr-defined]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ActionItem)) == 0


def test_an_edit_that_changes_nothing_writes_nothing(db: Database, key: str) -> None:
    item = add(db, key, owner_user="alice", priority="P2")
    before = audit_count(db)
    with db.write() as session:
        same = actions.update_item(
            session, principal=RESPONDER, item_id=item.id,
            changes={"status": "open", "priority": "P2", "owner_user": "alice"},
        )  # fmt: skip
    assert same == item and audit_count(db) == before
