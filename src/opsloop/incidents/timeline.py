"""Writing and reading an incident's timeline. Every change of status, severity, role or time
is written here by itself (``automatic``, with before and after), beside the events people
type and the status updates they post."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.auth.roles import Principal
from opsloop.incidents.models import TimelineEvent
from opsloop.incidents.vocabulary import Audience, EventKind


@dataclass(frozen=True)
class EventView:
    id: int
    at: datetime
    kind: EventKind
    author: str
    text: str
    automatic: bool
    change: dict[str, Any] | None
    audience: Audience | None
    next_update_at: datetime | None


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def add(
    session: Session,
    *,
    incident_id: int,
    principal: Principal,
    kind: EventKind,
    text: str,
    at: datetime | None = None,
    audience: Audience | None = None,
    next_update_at: datetime | None = None,
) -> TimelineEvent:
    """An event a person wrote (a note, an action taken, a status update)."""
    row = TimelineEvent(
        incident_id=incident_id,
        at=at or clock.now(),
        kind=kind,
        author=principal.actor,
        text=text,
        automatic=False,
        change="",
        audience=audience,
        next_update_at=next_update_at,
    )
    session.add(row)
    return row


def record_change(
    session: Session,
    *,
    incident_id: int,
    principal: Principal,
    kind: EventKind,
    field: str,
    before: Any,
    after: Any,
    text: str | None = None,
) -> None:
    """The automatic entry of one changed field, with its values before and after."""
    label = field.removesuffix("_at").replace("_", " ")
    session.add(
        TimelineEvent(
            incident_id=incident_id,
            at=clock.now(),
            kind=kind,
            author=principal.actor,
            text=text or f"{label}: {_shown(before)} → {_shown(after)}",
            automatic=True,
            change=json.dumps(
                {"field": field, "before": _stored(before), "after": _stored(after)},
                sort_keys=True,
            ),
            audience=None,
            next_update_at=None,
        )
    )


def view(row: TimelineEvent) -> EventView:
    return EventView(
        id=row.id,
        at=row.at,
        kind=row.kind,
        author=row.author,
        text=row.text,
        automatic=row.automatic,
        change=json.loads(row.change) if row.change else None,
        audience=row.audience,
        next_update_at=row.next_update_at,
    )


def events(session: Session, *, incident_id: int) -> Sequence[EventView]:
    """The whole timeline in time order (ties in the order written)."""
    query = (
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(TimelineEvent.at, TimelineEvent.id)
    )
    return [view(row) for row in session.scalars(query)]
