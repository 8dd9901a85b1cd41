"""API input and output of action items."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field

from opsloop.actions.escalation import Escalated
from opsloop.actions.views import ActionItemView, EscalationView, NoteView
from opsloop.core.schemas import PlainStr, Schema

Description = Annotated[PlainStr, Field(min_length=1, max_length=2000)]
NoteText = Annotated[PlainStr, Field(max_length=4000)]
Username = Annotated[PlainStr, Field(max_length=100)]
TeamName = Annotated[PlainStr, Field(max_length=63)]
PriorityText = Annotated[PlainStr, Field(max_length=8, description="P1, P2 or P3")]
StatusText = Annotated[
    PlainStr, Field(max_length=16, description="open, in_progress, done or wont_do")
]


def _date_text(value: Any) -> Any:
    # Only the ISO form: a number would be read as seconds since 1970, a date-time silently cut.
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value.strip()) != 10:
        raise ValueError("must be a date such as 2026-12-20")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be a date such as 2026-12-20") from None


DueDate = Annotated[
    date,
    BeforeValidator(_date_text),
    Field(description="a date, e.g. 2026-12-20", json_schema_extra={"format": "date"}),
]


class ItemCreate(Schema):
    """Give exactly one owner: ``owner_user`` or ``owner_team``."""

    model_config = ConfigDict(extra="forbid")

    description: Description
    owner_user: Username | None = Field(default=None, description="an opsloop username")
    owner_team: TeamName | None = Field(default=None, description="a team of the catalog")
    priority: PriorityText
    due_on: DueDate
    note: NoteText = ""


class ItemPatch(Schema):
    """Only the fields sent change; ``note`` goes into the item's history (needed to move to
    wont_do). A new owner replaces the old one: send owner_user or owner_team, not both."""

    model_config = ConfigDict(extra="forbid")

    description: Description | None = None
    owner_user: Username | None = None
    owner_team: TeamName | None = None
    priority: PriorityText | None = None
    due_on: DueDate | None = None
    status: StatusText | None = None
    note: NoteText | None = None

    def changes(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self.model_fields_set if n != "note"}


class NoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[PlainStr, Field(min_length=1, max_length=4000)]


class NoteOut(Schema):
    at: datetime
    author: str
    text: str
    status_change: str = Field(description='"open -> done" when it came with a move, else ""')

    @classmethod
    def of(cls, note: NoteView) -> NoteOut:
        return cls(at=note.at, author=note.author, text=note.text, status_change=note.status_change)


class EscalationOut(Schema):
    level: int
    at: datetime
    notified_to: list[str] = Field(description="the leads told; empty: no lead was found")
    teams: list[str] = Field(description="the teams the notification was routed to")
    summary: str

    @classmethod
    def of(cls, esc: EscalationView) -> EscalationOut:
        return cls(
            level=esc.level,
            at=esc.at,
            notified_to=list(esc.notified_to),
            teams=list(esc.teams),
            summary=esc.summary,
        )


class ItemOut(Schema):
    id: int
    incident: str = Field(description="the incident's key")
    description: str
    owner: str = Field(description="a username, or team:<name>")
    owner_user: str | None
    owner_team: str | None
    priority: str
    due_on: date
    status: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    overdue: bool
    days_overdue: int
    escalation_level: int = Field(description="the highest level escalated so far; 0: none")
    escalations: list[EscalationOut]
    notes: list[NoteOut]

    @classmethod
    def of(cls, item: ActionItemView) -> ItemOut:
        return cls(
            id=item.id,
            incident=item.incident_key,
            description=item.description,
            owner=item.owner,
            owner_user=item.owner_user,
            owner_team=item.owner_team,
            priority=item.priority.value,
            due_on=item.due_on,
            status=item.status.value,
            created_by=item.created_by,
            created_at=item.created_at,
            updated_at=item.updated_at,
            completed_at=item.completed_at,
            overdue=item.overdue,
            days_overdue=item.days_overdue,
            escalation_level=item.escalation_level,
            escalations=[EscalationOut.of(e) for e in item.escalations],
            notes=[NoteOut.of(n) for n in item.notes],
        )


class EscalatedOut(Schema):
    item: int
    incident: str
    description: str
    owner: str
    level: int
    days_overdue: int
    notified_to: list[str] = Field(description="the leads told; empty: only team channels")
    teams: list[str]

    @classmethod
    def of(cls, e: Escalated) -> EscalatedOut:
        return cls(
            item=e.item_id,
            incident=e.incident_key,
            description=e.description,
            owner=e.owner,
            level=e.level,
            days_overdue=e.days_overdue,
            notified_to=list(e.notified_to),
            teams=list(e.teams),
        )


class EscalationRun(Schema):
    dry_run: bool
    escalated: list[EscalatedOut]
