"""Action items' fixed values and rules: priority, status, when an item is overdue and which
escalation level it has reached. Pure: no I/O, no clock of its own.

An item is due by the end of its due date (UTC): it is overdue from midnight UTC after it.
Level k (1 to MAX_LEVEL) is reached once it has been overdue for k * N days, N being the
escalation interval (``OPSLOOP_ACTION_ESCALATE_AFTER_DAYS``, default 3).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from opsloop.core.errors import ValidationFailed

MAX_LEVEL = 3
DEFAULT_ESCALATE_AFTER_DAYS = 3


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class ItemStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    done = "done"
    wont_do = "wont_do"

    @property
    def is_open(self) -> bool:
        return self in (ItemStatus.open, ItemStatus.in_progress)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    ItemStatus.open: "open",
    ItemStatus.in_progress: "in progress",
    ItemStatus.done: "done",
    ItemStatus.wont_do: "won't do",
}
OPEN_STATUSES = tuple(s for s in ItemStatus if s.is_open)


def parse_priority(value: str, field: str = "priority") -> Priority:
    wanted = value.strip().upper()
    if wanted not in Priority.__members__:
        raise ValidationFailed(f"{field}: must be one of P1, P2, P3, not {value!r}", field=field)
    return Priority(wanted)


def parse_status(value: str, field: str = "status") -> ItemStatus:
    """A status by value or as people write it ("in progress", "won't do")."""
    wanted = value.strip().lower().replace("'", "").replace(" ", "_").replace("-", "_")
    if wanted not in ItemStatus.__members__:
        allowed = ", ".join(s.value for s in ItemStatus)
        raise ValidationFailed(f"{field}: must be one of {allowed}, not {value!r}", field=field)
    return ItemStatus(wanted)


def overdue_since(due_on: date) -> datetime:
    """The moment an item due on ``due_on`` becomes overdue: midnight UTC after its due date."""
    return datetime.combine(due_on + timedelta(days=1), time(0), tzinfo=UTC)


def is_overdue(due_on: date, status: ItemStatus, now: datetime) -> bool:
    return status.is_open and now >= overdue_since(due_on)


def days_overdue(due_on: date, status: ItemStatus, now: datetime) -> int:
    """Whole days past the due date's end; 0 when not overdue (or closed)."""
    if not is_overdue(due_on, status, now):
        return 0
    return (now - overdue_since(due_on)).days


def overdue_changes_at(due_on: date, status: ItemStatus, now: datetime) -> datetime | None:
    """The first instant after ``now`` at which :func:`is_overdue` or :func:`days_overdue`
    would answer differently (None: never, the item is closed): when it becomes overdue, then
    each midnight UTC while it stays open."""
    if not status.is_open:
        return None
    start = overdue_since(due_on)
    if now < start:
        return start
    return start + timedelta(days=days_overdue(due_on, status, now) + 1)


def level_reached(due_on: date, status: ItemStatus, now: datetime, after_days: int) -> int:
    """The escalation level an item has reached by ``now`` (0: none), at most MAX_LEVEL."""
    if after_days < 1:
        raise ValueError("after_days must be at least 1")
    return min(days_overdue(due_on, status, now) // after_days, MAX_LEVEL)


def level_starts(due_on: date, level: int, after_days: int) -> datetime:
    """When an item due on ``due_on`` reaches ``level``."""
    return overdue_since(due_on) + timedelta(days=level * after_days)


def latest_due_for_level(now: datetime, level: int, after_days: int) -> date:
    """The latest due date that has reached ``level`` by ``now``: lets the database
    find candidates with a date comparison instead of computing levels row by row."""
    return (now - timedelta(days=level * after_days + 1)).date()


def due_within(due_on: date, today: date, days: int) -> bool:
    """Due today or in the next ``days`` days (not yet overdue)."""
    return today <= due_on <= today + timedelta(days=days)


def close_needs_note(status: ItemStatus) -> bool:
    """Closing without doing it needs a reason that others can read later."""
    return status is ItemStatus.wont_do
