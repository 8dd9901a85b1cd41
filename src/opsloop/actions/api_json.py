"""The action item list as JSON straight from plain rows: no ORM object, no
``ActionItemView`` and no ``ItemOut`` validated per item; the route documents
``Page[ItemOut]``, and ``tests/actions/test_item_listing.py`` checks the two agree. The notes
and escalations of a page come in one grouped query each."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.engine import Connection

from opsloop.actions.models import ActionItem, ActionItemEscalation, ActionItemNote
from opsloop.actions.rules import ItemStatus, days_overdue, is_overdue, overdue_changes_at
from opsloop.actions.views import EscalationView, owner_text
from opsloop.core.row_json import day_text, page_bytes, raw_columns, when_text
from opsloop.core.schemas import encode_cursor

#: The counter that moves with every write to what the list shows or its filters read
#: (migration 0022): items, notes, escalations, teams and members, incidents.
GENERATION = "action_items"
_I = ActionItem.__table__.c
_N = ActionItemNote.__table__.c
_E = ActionItemEscalation.__table__.c
_SHOWN = (
    "id",
    "incident_key",
    "description",
    "owner_user",
    "owner_team",
    "priority",
    "due_on",
    "status",
    "created_by",
    "created_at",
    "updated_at",
    "completed_at",
)
_COLUMNS = raw_columns(_I[name] for name in _SHOWN)
_NOTES = (_N.item_id, *raw_columns([_N.at]), _N.author, _N.text, _N.status_change)
_ESCALATIONS = (_E.item_id, _E.level, *raw_columns([_E.at]), _E.notified_to, _E.teams)


def page_rows(
    conn: Connection, conditions: Sequence[Any], *, before_id: int | None, limit: int
) -> list[Row[Any]]:
    """Up to ``limit`` items newest first (by id) before ``before_id``, as plain rows."""
    query = select(*_COLUMNS).where(*conditions)
    if before_id is not None:
        query = query.where(_I.id < before_id)
    return list(conn.execute(query.order_by(_I.id.desc()).limit(limit)))


#: The part of an item's JSON that is a function of its row alone (what follows depends on the
#: time and on its notes and escalations), reused while the row does not change.
@lru_cache(maxsize=4096)
def _fields_json(row: Row[Any]) -> str:
    fields = {
        "id": row.id,
        "incident": row.incident_key,
        "description": row.description,
        "owner": owner_text(row.owner_user, row.owner_team),
        "owner_user": row.owner_user,
        "owner_team": row.owner_team,
        "priority": row.priority,
        "due_on": day_text(row.due_on),
        "status": row.status,
        "created_by": row.created_by,
        "created_at": when_text(row.created_at),
        "updated_at": when_text(row.updated_at),
        "completed_at": when_text(row.completed_at),
    }
    return _json(fields)[:-1]


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


def _escalation(row: Row[Any]) -> dict[str, Any]:
    view = EscalationView(row.level, row.at, _split(row.notified_to), _split(row.teams))
    return {
        "level": view.level,
        "at": when_text(row.at),
        "notified_to": list(view.notified_to),
        "teams": list(view.teams),
        "summary": view.summary,
    }


def _note(row: Row[Any]) -> dict[str, Any]:
    return {
        "at": when_text(row.at),
        "author": row.author,
        "text": row.text,
        "status_change": row.status_change,
    }


def page_json(conn: Connection, rows: Sequence[Row[Any]], limit: int, now: datetime) -> bytes:
    """A ``Page[ItemOut]`` of the first ``limit`` rows as at ``now``; a further row means a
    next page."""
    return page_json_until(conn, rows, limit, now)[0]


def page_json_until(
    conn: Connection, rows: Sequence[Row[Any]], limit: int, now: datetime
) -> tuple[bytes, datetime | None]:
    """:func:`page_json`, and the first instant after ``now`` at which an item's being overdue
    or its days overdue would read differently (None: never)."""
    shown = rows[:limit]
    cursor = encode_cursor(shown[-1].id) if len(rows) > limit and shown else None
    ids = [r.id for r in shown]
    notes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    escalations: dict[int, list[Row[Any]]] = defaultdict(list)
    if ids:
        for note in conn.execute(select(*_NOTES).where(_N.item_id.in_(ids)).order_by(_N.id)):
            notes[note.item_id].append(_note(note))
        query = select(*_ESCALATIONS).where(_E.item_id.in_(ids)).order_by(_E.level)
        for esc in conn.execute(query):
            escalations[esc.item_id].append(esc)
    # Overdue and days overdue depend on the due date and status alone at one moment, and a
    # page has few distinct pairs.
    overdue: dict[tuple[Any, str], str] = {}
    changes: list[datetime] = []
    items = []
    for row in shown:
        pair = (row.due_on, row.status)
        late = overdue.get(pair)
        if late is None:
            status = ItemStatus(row.status)
            late = overdue[pair] = (
                f'"overdue":{json.dumps(is_overdue(row.due_on, status, now))},'
                f'"days_overdue":{days_overdue(row.due_on, status, now)}'
            )
            if (at := overdue_changes_at(row.due_on, status, now)) is not None:
                changes.append(at)
        found = escalations.get(row.id, ())
        level = max((e.level for e in found), default=0)
        listed = _json([_escalation(e) for e in found]) if found else "[]"
        noted = _json(notes[row.id]) if row.id in notes else "[]"
        items.append(
            f'{_fields_json(row)},{late},"escalation_level":{level},'
            f'"escalations":{listed},"notes":{noted}}}'
        )
    return page_bytes(items, cursor), min(changes, default=None)
