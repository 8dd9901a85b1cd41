"""A change in production: scheduled into a window (freezes and overlaps checked), started
(the error-budget gate checked), then completed, failed or rolled back with its reason."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.changes import freezes, history, silencing
from opsloop.changes.models import Change
from opsloop.changes.rules import (
    ACTIVE_STATES,
    DEFAULT_POLICY,
    ChangeModel,
    ChangePolicy,
    ChangeState,
    check_move,
    overlaps,
)
from opsloop.changes.service import WRITE_ROLE, add_warning, find_row, text, view_of
from opsloop.changes.workflow import Outcome, check_gate, move, record_audit
from opsloop.core import clock
from opsloop.core.auth.roles import Principal
from opsloop.core.auth.service import require
from opsloop.core.errors import Conflict, NotFound, ValidationFailed
from opsloop.incidents import service as incidents

MAX_WINDOW = timedelta(days=7)
MAX_AHEAD = timedelta(days=366)
S = ChangeState


def _window_moment(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValidationFailed(
            "window_start: give a time zone (e.g. 2026-01-01T10:00:00Z)", field="window_start"
        )
    if value < clock.now():
        raise ValidationFailed("window_start: the window is in the past", field="window_start")
    if value > clock.now() + MAX_AHEAD:
        raise ValidationFailed("window_start: at most a year ahead", field="window_start")
    return value


def schedule(
    session: Session,
    *,
    principal: Principal,
    key: str,
    start: datetime,
    duration: timedelta,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> Outcome:
    """Put an approved change into a window (or move a scheduled one to another). A window in
    a freeze is refused (409 naming it), except for an emergency change, which gets a
    warning; scheduled changes of the same service in an overlapping window are warned of."""
    require(principal, WRITE_ROLE)
    row = find_row(session, key)
    begin = _window_moment(start)
    if duration <= timedelta(0) or duration > MAX_WINDOW:
        raise ValidationFailed("duration: more than 0 minutes and at most 7 days", field="duration")
    end = begin + duration
    check_move(row.model, row.state, S.scheduled)
    warnings: list[str] = []
    for frozen in freezes.blocking(session, service=row.service, start=begin, end=end):
        if row.model != ChangeModel.emergency:
            raise Conflict(
                f"the window falls in {frozen.describe()}: {frozen.reason or 'no reason given'}",
                field="window_start",
            )
        warnings.append(f"scheduled into {frozen.describe()} (emergency change)")
    others = session.scalars(
        select(Change).where(
            Change.service == row.service,
            Change.id != row.id,
            Change.state.in_(list(ACTIVE_STATES)),
            Change.window_start.is_not(None),
        )
    )
    for other in others:
        assert other.window_start is not None and other.window_end is not None
        if overlaps(begin, end, other.window_start, other.window_end):
            warnings.append(
                f"overlaps {other.key} ({other.state.value}, {other.window_start:%Y-%m-%d %H:%M}"
                f" to {other.window_end:%H:%M} UTC) on {row.service}"
            )
    before = view_of(session, row, policy).fields()
    move(session, row, principal, S.scheduled)
    history.set_field(session, row, principal, "window_start", begin)
    history.set_field(session, row, principal, "window_end", end)
    for message in warnings:
        add_warning(row, "schedule", message)
    after = view_of(session, row, policy)
    record_audit(session, principal, "change.schedule", row, before, after)
    return Outcome(after, tuple(warnings))


def start(
    session: Session, *, principal: Principal, key: str, policy: ChangePolicy = DEFAULT_POLICY
) -> Outcome:
    """Implementation begins: a scheduled change, or a submitted emergency change at once.
    The error-budget gate applies to normal and standard changes."""
    require(principal, WRITE_ROLE)
    row = find_row(session, key)
    check_move(row.model, row.state, S.in_progress)
    before = view_of(session, row, policy).fields()
    warnings = check_gate(session, row, principal, "start")
    move(session, row, principal, S.in_progress)
    history.set_field(session, row, principal, "started_at", clock.now())
    if silenced := silencing.silence_window(session, row, principal):
        warnings.append(silenced)
    after = view_of(session, row, policy)
    record_audit(session, principal, "change.start", row, before, after)
    return Outcome(after, tuple(warnings))


def _finish(
    session: Session,
    principal: Principal,
    key: str,
    state: ChangeState,
    reason: str,
    policy: ChangePolicy,
    incident_key: str | None = None,
) -> Outcome:
    require(principal, WRITE_ROLE)
    row = find_row(session, key)
    check_move(row.model, row.state, state)
    required = state != S.completed
    reason = text(reason, "reason", required=required)
    linked = None
    if incident_key is not None and incident_key.strip():
        try:
            linked = incidents.get_incident(session, key=incident_key).key
        except NotFound:
            raise ValidationFailed(
                f"incident_key: no incident {incident_key!r}", field="incident_key"
            ) from None
    before = view_of(session, row, policy).fields()
    move(session, row, principal, state, note=reason)
    history.set_field(session, row, principal, "finished_at", clock.now())
    if reason:
        history.set_field(session, row, principal, "outcome_reason", reason)
    if linked is not None:
        history.set_field(session, row, principal, "incident_key", linked)
    unsilenced = silencing.end_silence(session, row, principal)
    after = view_of(session, row, policy)
    record_audit(session, principal, f"change.{state.value}", row, before, after)
    return Outcome(after, (unsilenced,) if unsilenced else ())


def complete(
    session: Session,
    *,
    principal: Principal,
    key: str,
    note: str = "",
    policy: ChangePolicy = DEFAULT_POLICY,
) -> Outcome:
    return _finish(session, principal, key, S.completed, note, policy)


def fail(
    session: Session,
    *,
    principal: Principal,
    key: str,
    reason: str,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> Outcome:
    return _finish(session, principal, key, S.failed, reason, policy)


def rollback(
    session: Session,
    *,
    principal: Principal,
    key: str,
    reason: str,
    incident_key: str | None = None,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> Outcome:
    """Roll back a change in progress or completed; the reason is required and an incident
    the change caused may be named."""
    return _finish(session, principal, key, S.rolled_back, reason, policy, incident_key)
