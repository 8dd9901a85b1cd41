"""Action item use-cases: add to an incident's review, read, list across every review, edit,
move the status and keep notes. Escalation of overdue items is in
:mod:`opsloop.actions.escalation`.

Every write is audited (``action_item.*``). Incidents are read through the incident service;
owners are checked against the users and the team catalog. The post-incident review pages call
:func:`items_of_incident`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from opsloop.actions import announcing
from opsloop.actions.models import ActionItem, ActionItemNote
from opsloop.actions.rules import (
    OPEN_STATUSES,
    ItemStatus,
    Priority,
    close_needs_note,
    parse_priority,
    parse_status,
)
from opsloop.actions.views import TEAM_PREFIX, ActionItemView, build_many
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.incidents import service as incidents
from opsloop.services import teams

WRITE_ROLE = Role.responder
ENTITY = "action_item"
MAX_DESCRIPTION = 2000
MAX_NOTE = 4000
EDITABLE = frozenset({"description", "owner_user", "owner_team", "priority", "due_on", "status"})


def _text(value: str, field: str, limit: int, *, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise ValidationFailed(f"{field}: must not be empty", field=field)
    if len(text) > limit:
        raise ValidationFailed(f"{field}: at most {limit} characters", field=field)
    return text


def checked_owner(
    session: Session, owner_user: str | None, owner_team: str | None
) -> tuple[str | None, str | None]:
    """Exactly one owner, and one that exists: a user, or a team of the catalog."""
    user = (owner_user or "").strip() or None
    team = (owner_team or "").strip() or None
    if (user is None) == (team is None):
        raise ValidationFailed(
            "owner: give exactly one owner, a user (owner_user) or a team (owner_team)",
            field="owner",
        )
    if user is not None:
        try:
            auth.get_user(session, username=user)
        except NotFound:
            raise ValidationFailed(
                f"owner_user: no opsloop user named {user!r}", field="owner_user"
            ) from None
    if team is not None and teams.find_team(session, name=team) is None:
        raise ValidationFailed(f"owner_team: no team {team!r} in the catalog", field="owner_team")
    return user, team


def parse_owner(text: str) -> tuple[str | None, str | None]:
    """``alice`` (a user) or ``team:payments`` (a team), as the CLI and the board take it."""
    value = text.strip()
    if value.startswith(TEAM_PREFIX):
        return None, value[len(TEAM_PREFIX) :]
    return value, None


def _checked_due(due_on: Any, started: date) -> date:
    if not isinstance(due_on, date):
        raise ValidationFailed("due_on: must be a date such as 2026-12-20", field="due_on")
    if due_on < started:
        raise ValidationFailed(
            f"due_on: must not be before the incident started ({started.isoformat()})",
            field="due_on",
        )
    return due_on


def _row(session: Session, item_id: int) -> ActionItem:
    found = session.get(ActionItem, item_id)
    if found is None:
        raise NotFound(f"no action item {item_id}", field="id")
    return found


def _view(session: Session, row: ActionItem) -> ActionItemView:
    session.flush()
    return build_many(session, [row], now=clock.now())[0]


def get_item(session: Session, *, item_id: int) -> ActionItemView:
    return _view(session, _row(session, item_id))


def items_of_incident(session: Session, incident_id: int) -> list[ActionItemView]:
    """The incident's action items, newest last (by id)."""
    rows = session.scalars(
        select(ActionItem).where(ActionItem.incident_id == incident_id).order_by(ActionItem.id)
    )
    return build_many(session, list(rows), now=clock.now())


def items_of_incident_key(session: Session, *, key: str) -> list[ActionItemView]:
    """The items of the incident with this key; NotFound if there is no such incident."""
    return items_of_incident(session, incidents.get_incident(session, key=key).id)


@dataclass(frozen=True)
class ItemFilter:
    status: ItemStatus | None = None
    open_only: bool = False
    owner: str | None = None
    team: str | None = None
    priority: Priority | None = None
    #: Open items due today or within this many days (not those already overdue).
    due_within_days: int | None = None
    overdue: bool = False
    incident: str | None = None


def conditions(session: Session, flt: ItemFilter) -> list[Any]:
    found: list[Any] = []
    today = clock.now().date()
    if flt.status is not None:
        found.append(ActionItem.status == flt.status)
    if flt.open_only or flt.overdue or flt.due_within_days is not None:
        found.append(ActionItem.status.in_(OPEN_STATUSES))
    if flt.owner:
        user, team = parse_owner(flt.owner)
        found.append(
            ActionItem.owner_user == user if user is not None else ActionItem.owner_team == team
        )
    if flt.team:
        team_view = teams.find_team(session, name=flt.team)
        if team_view is None:
            raise ValidationFailed(f"team: no team {flt.team!r}", field="team")
        members = sorted(team_view.members)
        found.append(
            or_(ActionItem.owner_team == flt.team, ActionItem.owner_user.in_(members))
            if members
            else ActionItem.owner_team == flt.team
        )
    if flt.priority is not None:
        found.append(ActionItem.priority == flt.priority)
    if flt.due_within_days is not None:
        if flt.due_within_days < 0:
            raise ValidationFailed("due_within_days: must not be negative", field="due_within_days")
        found.append(ActionItem.due_on >= today)
        found.append(ActionItem.due_on <= today + timedelta(days=flt.due_within_days))
    if flt.overdue:
        found.append(ActionItem.due_on < today)
    if flt.incident:
        try:
            incident = incidents.get_incident(session, key=flt.incident)
        except NotFound:
            raise ValidationFailed(
                f"incident: no incident {flt.incident!r}", field="incident"
            ) from None
        found.append(ActionItem.incident_id == incident.id)
    return found


def list_items(
    session: Session,
    *,
    flt: ItemFilter | None = None,
    before_id: int | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> list[ActionItemView]:
    """Items of every review, newest first, narrowed by ``flt``."""
    query = select(ActionItem).where(*conditions(session, flt or ItemFilter()))
    if before_id is not None:
        query = query.where(ActionItem.id < before_id)
    query = query.order_by(ActionItem.id.desc()).limit(limit).offset(offset)
    return build_many(session, list(session.scalars(query)), now=clock.now())


def count_items(session: Session, *, flt: ItemFilter | None = None) -> int:
    query = select(func.count()).select_from(ActionItem)
    return int(session.scalar(query.where(*conditions(session, flt or ItemFilter()))) or 0)


def _add_note(
    session: Session, item_id: int, principal: Principal, text: str, status_change: str = ""
) -> None:
    session.add(
        ActionItemNote(
            item_id=item_id,
            at=clock.now(),
            author=principal.actor,
            text=text,
            status_change=status_change,
        )
    )


def create_item(
    session: Session,
    *,
    principal: Principal,
    incident_key: str,
    description: str,
    owner_user: str | None = None,
    owner_team: str | None = None,
    priority: Priority | str,
    due_on: date,
    note: str = "",
) -> ActionItemView:
    """A new open item of the incident's review; its owner is told."""
    auth.require(principal, WRITE_ROLE)
    incident = incidents.get_incident(session, key=incident_key)
    text = _text(description, "description", MAX_DESCRIPTION)
    user, team = checked_owner(session, owner_user, owner_team)
    level = priority if isinstance(priority, Priority) else parse_priority(priority)
    due = _checked_due(due_on, incident.started_at.date())
    first_note = _text(note, "note", MAX_NOTE, required=False)
    now = clock.now()
    row = ActionItem(
        incident_id=incident.id,
        incident_key=incident.key,
        description=text,
        owner_user=user,
        owner_team=team,
        priority=level,
        due_on=due,
        status=ItemStatus.open,
        created_by=principal.actor,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    if first_note:
        _add_note(session, row.id, principal, first_note)
    found = _view(session, row)
    audit.record(
        session,
        principal=principal,
        action="action_item.create",
        entity_type=ENTITY,
        entity_id=row.id,
        after=found.fields(),
    )
    announcing.assigned(session, found, principal.actor)
    return found


def _checked_changes(
    session: Session, row: ActionItem, changes: Mapping[str, Any]
) -> dict[str, Any]:
    for name in changes:
        if name not in EDITABLE:
            raise ValidationFailed(f"{name}: not a field of an action item", field=name)
    for name in ("description", "priority", "due_on", "status"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(f"{name}: cannot be cleared", field=name)
    wanted: dict[str, Any] = {}
    if "description" in changes:
        wanted["description"] = _text(str(changes["description"]), "description", MAX_DESCRIPTION)
    if "owner_user" in changes or "owner_team" in changes:
        wanted["owner_user"], wanted["owner_team"] = checked_owner(
            session, changes.get("owner_user"), changes.get("owner_team")
        )
    if "priority" in changes:
        value = changes["priority"]
        wanted["priority"] = value if isinstance(value, Priority) else parse_priority(str(value))
    if "due_on" in changes:
        started = incidents.get_incident(session, key=row.incident_key).started_at.date()
        wanted["due_on"] = _checked_due(changes["due_on"], started)
    if "status" in changes:
        value = changes["status"]
        wanted["status"] = value if isinstance(value, ItemStatus) else parse_status(str(value))
    return wanted


def update_item(
    session: Session,
    *,
    principal: Principal,
    item_id: int,
    changes: Mapping[str, Any],
    note: str | None = None,
) -> ActionItemView:
    """Edit fields and move the status. A note may come with it (kept in the history); moving
    to won't do needs one, as the reason. A new owner is told. Changes that leave the item as
    it is write nothing."""
    auth.require(principal, WRITE_ROLE)
    row = _row(session, item_id)
    wanted = _checked_changes(session, row, changes)
    text = _text(note or "", "note", MAX_NOTE, required=False)
    before = _view(session, row)
    new_status = wanted.get("status", row.status)
    if new_status != row.status and close_needs_note(new_status) and not text:
        raise ValidationFailed("note: give the reason it won't be done", field="note")
    if not wanted and not text:
        raise ValidationFailed("nothing to change: give a field or a note", field="changes")
    if not text and all(getattr(row, name) == value for name, value in wanted.items()):
        return before  # re-sent as it is: nothing to write or audit
    now = clock.now()
    for name, value in wanted.items():
        setattr(row, name, value)
    if new_status != before.status:
        row.completed_at = None if new_status.is_open else now
        _add_note(session, row.id, principal, text, f"{before.status.value} -> {new_status.value}")
    elif text:
        _add_note(session, row.id, principal, text)
    row.updated_at = now
    after = _view(session, row)
    shown, new = before.fields(), after.fields()
    audit.record(
        session,
        principal=principal,
        action="action_item.update",
        entity_type=ENTITY,
        entity_id=row.id,
        before=shown,
        after={**new, **({"note": text} if text else {})},
    )
    if new["owner"] != shown["owner"]:
        announcing.assigned(session, after, principal.actor)
    return after


def add_note(session: Session, *, principal: Principal, item_id: int, text: str) -> ActionItemView:
    auth.require(principal, WRITE_ROLE)
    row = _row(session, item_id)
    checked = _text(text, "text", MAX_NOTE)
    _add_note(session, row.id, principal, checked)
    row.updated_at = clock.now()
    found = _view(session, row)
    audit.record(
        session,
        principal=principal,
        action="action_item.note",
        entity_type=ENTITY,
        entity_id=row.id,
        after={"note": checked},
    )
    return found
