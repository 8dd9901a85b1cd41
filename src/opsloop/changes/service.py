"""Change requests: create (as a draft or submitted at once), read, list and edit. The
workflow (submit, CAB decisions, windows, execution, the gate override) is in
:mod:`opsloop.changes.workflow`.

Every write is audited (``change.*``) and each changed field lands on the change's history.
Other domains read changes through :func:`changes_of_service` and :func:`get_change`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from opsloop.changes import history
from opsloop.changes.models import Change, ChangeCounter
from opsloop.changes.rules import (
    DEFAULT_POLICY,
    KEY_PATTERN,
    ChangeModel,
    ChangePolicy,
    ChangeState,
    RiskLevel,
    change_key,
    needs_rollback_plan,
    parse_category,
    parse_choice,
)
from opsloop.changes.views import ChangeView, HistoryView, build_many, history_of
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.db import next_in_year
from opsloop.core.errors import Conflict, NotFound, ValidationFailed
from opsloop.core.schemas import text_problem
from opsloop.services import service as catalog

WRITE_ROLE = Role.responder
ENTITY = "change"
MAX_TITLE = 200
MAX_TEXT = 20_000
#: Editable until the change is approved: what the CAB decides on.
DECIDED_FIELDS = frozenset({"service", "category", "model", "risk"})
EDITABLE = frozenset(
    {
        "title",
        "description",
        "impact_analysis",
        "rollback_plan",
        "implementer",
        "requester",
        *DECIDED_FIELDS,
    }
)


def next_number(session: Session, year: int) -> int:
    """The year's next change number, race-free and gap-free (see ``next_in_year``)."""
    return next_in_year(session, ChangeCounter, year)


def text(value: str, field: str, *, limit: int = MAX_TEXT, required: bool = False) -> str:
    cleaned = value.strip()
    if required and not cleaned:
        raise ValidationFailed(f"{field}: must not be empty", field=field)
    if len(cleaned) > limit:
        raise ValidationFailed(f"{field}: at most {limit} characters", field=field)
    if problem := text_problem(cleaned):
        raise ValidationFailed(f"{field}: {problem}", field=field)
    return cleaned


def user(session: Session, username: str | None, field: str) -> str | None:
    """An opsloop user (None or "" leaves it empty)."""
    if username is None or not username.strip():
        return None
    try:
        found = auth.get_user(session, username=username.strip())
    except NotFound:
        raise ValidationFailed(
            f"{field}: no opsloop user named {username!r}", field=field
        ) from None
    if found.disabled:
        raise ValidationFailed(f"{field}: the user {username!r} is disabled", field=field)
    return found.username


def check_complete(row: Change) -> None:
    """What every change needs whatever its state: a rollback plan unless it is standard."""
    if needs_rollback_plan(row.model) and not row.rollback_plan.strip():
        raise ValidationFailed(
            f"rollback_plan: a {row.model.value} change needs a rollback plan",
            field="rollback_plan",
        )


def find_row(session: Session, key: str) -> Change:
    normalised = key.strip().upper()
    found = None
    if KEY_PATTERN.match(normalised):
        found = session.scalar(select(Change).where(Change.key == normalised))
    if found is None:
        raise NotFound(f"no change {key!r}", field="key")
    return found


def view_of(session: Session, row: Change, policy: ChangePolicy) -> ChangeView:
    session.flush()
    return build_many(session, [row], now=clock.now(), policy=policy)[0]


def get_change(session: Session, *, key: str, policy: ChangePolicy = DEFAULT_POLICY) -> ChangeView:
    return view_of(session, find_row(session, key), policy)


def history_of_change(session: Session, *, key: str) -> list[HistoryView]:
    return history_of(session, find_row(session, key).id)


@dataclass(frozen=True)
class ChangeFilter:
    state: ChangeState | None = None
    service: str | None = None
    model: ChangeModel | None = None
    risk: RiskLevel | None = None
    #: The period: a change's window start, or when it was raised while it has no window.
    since: datetime | None = None
    until: datetime | None = None


def conditions(flt: ChangeFilter) -> list[Any]:
    if flt.since and flt.until and flt.since > flt.until:
        raise ValidationFailed("since: must not be after until", field="since")
    found: list[Any] = []
    if flt.state is not None:
        found.append(Change.state == flt.state)
    if flt.service:
        found.append(Change.service == flt.service)
    if flt.model is not None:
        found.append(Change.model == flt.model)
    if flt.risk is not None:
        found.append(Change.risk == flt.risk)
    when = func.coalesce(Change.window_start, Change.created_at)
    if flt.since:
        found.append(when >= flt.since)
    if flt.until:
        found.append(when < flt.until)
    return found


def list_changes(
    session: Session,
    *,
    flt: ChangeFilter | None = None,
    before_id: int | None = None,
    limit: int | None = None,
    offset: int | None = None,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> list[ChangeView]:
    """Changes newest first (by when they were raised), narrowed by ``flt``."""
    query = select(Change).where(*conditions(flt or ChangeFilter()))
    if before_id is not None:
        query = query.where(Change.id < before_id)
    query = query.order_by(Change.id.desc()).limit(limit).offset(offset)
    return build_many(session, list(session.scalars(query)), now=clock.now(), policy=policy)


def count_changes(session: Session, *, flt: ChangeFilter | None = None) -> int:
    query = select(func.count()).select_from(Change).where(*conditions(flt or ChangeFilter()))
    return int(session.scalar(query) or 0)


def changes_in_window(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    service: str | None = None,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> list[ChangeView]:
    """Changes whose window overlaps [start, end), earliest first (the calendar's blocks)."""
    query = select(Change).where(
        Change.window_start.is_not(None), Change.window_start < end, Change.window_end > start
    )
    if service:
        query = query.where(Change.service == service)
    rows = list(session.scalars(query.order_by(Change.window_start, Change.id)))
    return build_many(session, rows, now=clock.now(), policy=policy)


def services_with_open_changes(session: Session) -> list[str]:
    """Services with a change submitted, approved, scheduled or running: whose gates matter."""
    open_states = [
        ChangeState.submitted,
        ChangeState.approved,
        ChangeState.scheduled,
        ChangeState.in_progress,
    ]
    query = select(Change.service).where(Change.state.in_(open_states)).distinct()
    return sorted(session.scalars(query))


def changes_of_service(
    session: Session,
    *,
    service: str,
    since: datetime,
    until: datetime,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> list[ChangeView]:
    """The service's changes that ran, or were planned to run, in [since, until): started in
    it, or (not started) with a window starting in it. Earliest first. For impact, DORA and
    compliance reports."""
    started = Change.started_at.is_not(None) & (Change.started_at >= since)
    started = started & (Change.started_at < until)
    planned = Change.started_at.is_(None) & Change.window_start.is_not(None)
    planned = planned & (Change.window_start >= since) & (Change.window_start < until)
    query = select(Change).where(Change.service == service, or_(started, planned))
    rows = list(session.scalars(query.order_by(Change.id)))
    found = build_many(session, rows, now=clock.now(), policy=policy)
    return sorted(found, key=lambda c: (c.started_at or c.window_start or c.created_at, c.id))


def create(
    session: Session,
    *,
    principal: Principal,
    title: str,
    service: str,
    category: str,
    model: ChangeModel,
    risk: RiskLevel,
    description: str = "",
    impact_analysis: str = "",
    rollback_plan: str = "",
    requester: str | None = None,
    implementer: str | None = None,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> ChangeView:
    """A new draft change keyed CR-<year>-<next number of the year>. The requester defaults
    to whoever raises it."""
    require(principal, WRITE_ROLE)
    now = clock.now()
    checked_service = catalog.require_service(session, service.strip(), field="service").name
    row = Change(
        title=text(title, "title", limit=MAX_TITLE, required=True),
        description=text(description, "description"),
        service=checked_service,
        category=parse_category(policy, category),
        model=model,
        risk=risk,
        state=ChangeState.draft,
        impact_analysis=text(impact_analysis, "impact_analysis"),
        rollback_plan=text(rollback_plan, "rollback_plan"),
        requester=user(session, requester or principal.actor, "requester"),
        implementer=user(session, implementer, "implementer"),
        outcome_reason="",
        gate_override_reason="",
        warnings="[]",
        created_by=principal.actor,
        created_at=now,
        updated_at=now,
    )
    check_complete(row)
    # Last, once everything is valid: only a change that goes on takes a number.
    row.year = now.year
    row.number = next_number(session, now.year)
    row.key = change_key(row.year, row.number)
    session.add(row)
    session.flush()
    history.record(
        session, change_id=row.id, principal=principal, field="state", before=None, after="draft"
    )
    found = view_of(session, row, policy)
    audit.record(
        session,
        principal=principal,
        action="change.create",
        entity_type=ENTITY,
        entity_id=row.key,
        after=found.fields(),
    )
    return found


def _checked(session: Session, name: str, value: Any, policy: ChangePolicy) -> Any:
    if name == "title":
        return text(str(value or ""), "title", limit=MAX_TITLE, required=True)
    if name in ("description", "impact_analysis", "rollback_plan"):
        return text(str(value or ""), name)
    if name in ("implementer", "requester"):
        checked = user(session, value, name)
        if name == "requester" and checked is None:
            raise ValidationFailed("requester: cannot be cleared", field="requester")
        return checked
    if value is None:
        raise ValidationFailed(f"{name}: cannot be cleared", field=name)
    if name == "service":
        return catalog.require_service(session, str(value).strip(), field="service").name
    if name == "category":
        return parse_category(policy, str(value))
    if name == "model":
        return parse_choice(ChangeModel, str(value), "model")
    return parse_choice(RiskLevel, str(value), "risk")


def update(
    session: Session,
    *,
    principal: Principal,
    key: str,
    changes: Mapping[str, Any],
    policy: ChangePolicy = DEFAULT_POLICY,
) -> ChangeView:
    """Edit fields. Service, category, model, risk and requester are what the CAB decides on:
    they change only while the change is a draft or submitted (a submitted change's decisions
    so far stay on record). Nothing changes once the change is final."""
    require(principal, WRITE_ROLE)
    for name in changes:
        if name == "state":
            raise ValidationFailed("state: move it with the workflow actions", field="state")
        if name not in EDITABLE:
            raise ValidationFailed(f"{name}: not a field of a change", field=name)
    row = find_row(session, key)
    if row.state.is_final or row.state == ChangeState.completed:
        raise Conflict(f"{row.key} is {row.state.value}; it can no longer be edited", field="state")
    open_for_decision = row.state in (ChangeState.draft, ChangeState.submitted)
    for name in changes:
        if (name in DECIDED_FIELDS or name == "requester") and not open_for_decision:
            raise Conflict(
                f"{name}: cannot change once the change is {row.state.value}", field=name
            )
    wanted = {name: _checked(session, name, value, policy) for name, value in changes.items()}
    before = view_of(session, row, policy).fields()
    changed = [name for name in sorted(wanted) if getattr(row, name) != wanted[name]]
    for name in changed:
        history.set_field(session, row, principal, name, wanted[name])
    check_complete(row)
    if changed:
        row.updated_at = clock.now()
    after = view_of(session, row, policy)
    if changed:
        audit.record(
            session,
            principal=principal,
            action="change.update",
            entity_type=ENTITY,
            entity_id=row.key,
            before={k: before[k] for k in changed},
            after={k: after.fields()[k] for k in changed},
        )
    return after


def add_warning(row: Change, kind: str, message: str) -> None:
    found = json.loads(row.warnings or "[]")
    found.append({"at": clock.now().isoformat(), "kind": kind, "text": message})
    row.warnings = json.dumps(found)
