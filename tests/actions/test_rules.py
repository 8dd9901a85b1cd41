"""The pure rules: parsing, when an item is overdue and which level it has reached, with
hand-computed dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from opsloop.actions.report import markdown, summarise
from opsloop.actions.rules import (
    MAX_LEVEL,
    ItemStatus,
    Priority,
    days_overdue,
    due_within,
    is_overdue,
    latest_due_for_level,
    level_reached,
    level_starts,
    overdue_since,
    parse_priority,
    parse_status,
)
from opsloop.actions.views import ActionItemView
from opsloop.core.errors import ValidationFailed

DUE = date(2026, 12, 1)
OPEN = ItemStatus.open


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def test_parsing_takes_what_people_type_and_names_the_field() -> None:
    assert parse_priority(" p1 ") is Priority.P1
    assert parse_status("won't do") is ItemStatus.wont_do
    assert parse_status("In progress") is ItemStatus.in_progress
    assert parse_status("in-progress") is ItemStatus.in_progress
    with pytest.raises(ValidationFailed) as bad_priority:
        parse_priority("P4")
    assert bad_priority.value.field == "priority"
    with pytest.raises(ValidationFailed) as bad_status:
        parse_status("closed", "--status")
    assert bad_status.value.field == "--status" and "wont_do" in bad_status.value.message


def test_an_item_is_overdue_from_midnight_after_its_due_date() -> None:
    # Due 2026-12-01: due all of that day, overdue from 2026-12-02 00:00 UTC.
    assert overdue_since(DUE) == at(2)
    assert not is_overdue(DUE, OPEN, at(1, 23, 59))
    assert is_overdue(DUE, OPEN, at(2))
    assert not is_overdue(DUE, ItemStatus.done, at(20))
    assert not is_overdue(DUE, ItemStatus.wont_do, at(20))
    assert is_overdue(DUE, ItemStatus.in_progress, at(20))
    # 2026-12-04 12:00 - 2026-12-02 00:00 = 2 days 12 hours: 2 whole days.
    assert days_overdue(DUE, OPEN, at(4, 12)) == 2
    assert days_overdue(DUE, OPEN, at(1, 12)) == 0
    assert days_overdue(DUE, ItemStatus.done, at(9)) == 0


def test_levels_every_n_days_of_being_overdue_up_to_three() -> None:
    # N = 3: level 1 from 12-02 + 3 d = 12-05, level 2 from 12-08, level 3 from 12-11.
    assert level_starts(DUE, 1, 3) == at(5)
    assert level_starts(DUE, 2, 3) == at(8)
    assert level_starts(DUE, 3, 3) == at(11)
    assert level_reached(DUE, OPEN, at(4, 23, 59), 3) == 0
    assert level_reached(DUE, OPEN, at(5), 3) == 1
    assert level_reached(DUE, OPEN, at(7, 23), 3) == 1
    assert level_reached(DUE, OPEN, at(8), 3) == 2
    assert level_reached(DUE, OPEN, at(11), 3) == 3
    # 12-31 is 29 days overdue: 29 // 3 = 9, capped at MAX_LEVEL.
    assert level_reached(DUE, OPEN, at(31), 3) == MAX_LEVEL == 3
    assert level_reached(DUE, ItemStatus.done, at(31), 3) == 0
    # N = 1: 12-04 00:00 is 2 days overdue: level 2.
    assert level_reached(DUE, OPEN, at(4), 1) == 2
    with pytest.raises(ValueError):
        level_reached(DUE, OPEN, at(4), 0)


def test_the_latest_due_date_at_a_level_matches_the_level_rule() -> None:
    # At 12-05 00:00 with N = 3, level 1 needs due + 1 + 3 days <= 12-05: due <= 12-01.
    assert latest_due_for_level(at(5), 1, 3) == date(2026, 12, 1)
    assert latest_due_for_level(at(4, 23, 59), 1, 3) == date(2026, 11, 30)
    for hours in range(0, 24 * 12, 7):
        now = at(1) + timedelta(hours=hours)
        cutoff = latest_due_for_level(now, 1, 3)
        assert level_reached(cutoff, OPEN, now, 3) >= 1
        assert level_reached(date.fromordinal(cutoff.toordinal() + 1), OPEN, now, 3) == 0


def test_due_within_counts_today_and_the_next_days() -> None:
    today = date(2026, 12, 1)
    assert due_within(date(2026, 12, 1), today, 0)
    assert due_within(date(2026, 12, 8), today, 7)
    assert not due_within(date(2026, 12, 9), today, 7)
    assert not due_within(date(2026, 11, 30), today, 7)  # overdue, not "due within"


def test_the_report_counts_per_owner_and_priority() -> None:
    def item(n: int, owner: str, priority: str, status: ItemStatus, due: date) -> ActionItemView:
        now = at(10)
        return ActionItemView(
            id=n, incident_id=1, incident_key="INC-2026-001", description=f"item {n}",
            owner=owner, owner_user=owner, owner_team=None, priority=Priority(priority),
            due_on=due, status=status, created_by="x", created_at=now, updated_at=now,
            completed_at=None, notes=(), escalations=(),
            overdue=is_overdue(due, status, now), days_overdue=days_overdue(due, status, now),
        )  # fmt: skip

    items = [
        item(1, "alice", "P1", OPEN, date(2026, 12, 1)),  # 12-10 - 12-02 = 8 days overdue
        item(2, "alice", "P2", ItemStatus.done, date(2026, 12, 1)),
        item(3, "bob", "P1", ItemStatus.in_progress, date(2026, 12, 20)),
        item(4, "bob", "P3", ItemStatus.wont_do, date(2026, 12, 20)),
    ]
    summary = summarise(items, now=at(10))
    assert summary["by_owner"]["alice"] == {
        "open": 1, "in_progress": 0, "overdue": 1, "done": 1, "wont_do": 0, "total": 2,
    }  # fmt: skip
    assert summary["by_priority"]["P1"]["total"] == 2
    assert summary["by_priority"]["P3"]["wont_do"] == 1
    assert [o["id"] for o in summary["overdue"]] == [1]
    assert summary["overdue"][0]["days_overdue"] == 8
    text = markdown(summary)
    assert "| alice | 1 | 0 | 1 | 1 | 0 | 2 |" in text
    assert "#1 INC-2026-001 P1 alice: due 2026-12-01, 8 days overdue" in text
