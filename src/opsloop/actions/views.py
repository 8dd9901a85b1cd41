"""What readers of an action item get: its fields, its notes, its escalations and whether it
is overdue at the moment it was read."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.actions.models import ActionItem, ActionItemEscalation, ActionItemNote
from opsloop.actions.rules import ItemStatus, Priority, days_overdue, is_overdue

TEAM_PREFIX = "team:"


def owner_text(owner_user: str | None, owner_team: str | None) -> str:
    """How an owner reads everywhere: a username, or ``team:<name>`` for a team."""
    return owner_user if owner_user is not None else f"{TEAM_PREFIX}{owner_team}"


@dataclass(frozen=True)
class NoteView:
    id: int
    at: datetime
    author: str
    text: str
    status_change: str


@dataclass(frozen=True)
class EscalationView:
    level: int
    at: datetime
    notified_to: tuple[str, ...]
    teams: tuple[str, ...]

    @property
    def to_channel(self) -> bool:
        """No lead was found, so only the team's channel (or nobody) was told."""
        return not self.notified_to

    @property
    def summary(self) -> str:
        if self.notified_to:
            return f"level {self.level} to {', '.join(self.notified_to)}"
        if self.teams:
            return f"level {self.level} to the channel of {', '.join(self.teams)} (no lead)"
        return f"level {self.level} (no team or lead to tell)"


@dataclass(frozen=True)
class ActionItemView:
    id: int
    incident_id: int
    incident_key: str
    description: str
    owner: str
    owner_user: str | None
    owner_team: str | None
    priority: Priority
    due_on: date
    status: ItemStatus
    created_by: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    notes: tuple[NoteView, ...]
    escalations: tuple[EscalationView, ...]
    overdue: bool
    days_overdue: int

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def status_label(self) -> str:
        return self.status.label

    @property
    def escalation_level(self) -> int:
        return max((e.level for e in self.escalations), default=0)

    def fields(self) -> dict[str, Any]:
        """What the audit trail records of an item."""
        return {
            "incident": self.incident_key,
            "description": self.description,
            "owner": self.owner,
            "priority": self.priority.value,
            "due_on": self.due_on.isoformat(),
            "status": self.status.value,
        }


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


def build_many(
    session: Session, rows: Sequence[ActionItem], *, now: datetime
) -> list[ActionItemView]:
    ids = [row.id for row in rows]
    notes: dict[int, list[NoteView]] = defaultdict(list)
    escalations: dict[int, list[EscalationView]] = defaultdict(list)
    if ids:
        for note in session.scalars(
            select(ActionItemNote)
            .where(ActionItemNote.item_id.in_(ids))
            .order_by(ActionItemNote.id)
        ):
            notes[note.item_id].append(
                NoteView(note.id, note.at, note.author, note.text, note.status_change)
            )
        for esc in session.scalars(
            select(ActionItemEscalation)
            .where(ActionItemEscalation.item_id.in_(ids))
            .order_by(ActionItemEscalation.level)
        ):
            escalations[esc.item_id].append(
                EscalationView(esc.level, esc.at, _split(esc.notified_to), _split(esc.teams))
            )
    return [
        ActionItemView(
            id=row.id,
            incident_id=row.incident_id,
            incident_key=row.incident_key,
            description=row.description,
            owner=owner_text(row.owner_user, row.owner_team),
            owner_user=row.owner_user,
            owner_team=row.owner_team,
            priority=row.priority,
            due_on=row.due_on,
            status=row.status,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
            completed_at=row.completed_at,
            notes=tuple(notes[row.id]),
            escalations=tuple(escalations[row.id]),
            overdue=is_overdue(row.due_on, row.status, now),
            days_overdue=days_overdue(row.due_on, row.status, now),
        )
        for row in rows
    ]
