"""A change's way through the CAB: submit, approve and reject, and an admin's override of the
error-budget gate, with the helpers every workflow step shares (a checked move, its audit
record, the gate). Windows and execution are in :mod:`opsloop.changes.execution`. Every move is
checked against :data:`opsloop.changes.rules.MOVES`, audited, and lands on the change's
history; decisions are announced through the outbox."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.changes import announcing, gate, history
from opsloop.changes.models import Change, ChangeApproval
from opsloop.changes.rules import (
    DEFAULT_POLICY,
    ChangeModel,
    ChangePolicy,
    ChangeState,
    Decision,
    check_move,
)
from opsloop.changes.service import (
    ENTITY,
    WRITE_ROLE,
    add_warning,
    check_complete,
    find_row,
    text,
    view_of,
)
from opsloop.changes.views import ChangeView
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.errors import Conflict, Forbidden, NotFound, ValidationFailed

DECIDE_ROLE = Role.approver
OVERRIDE_ROLE = Role.admin
S = ChangeState


@dataclass(frozen=True)
class Outcome:
    """A change after a workflow action, with the warnings the action raised."""

    change: ChangeView
    warnings: tuple[str, ...] = ()


def move(
    session: Session, row: Change, principal: Principal, after: ChangeState, note: str = ""
) -> None:
    check_move(row.model, row.state, after)
    history.record(
        session,
        change_id=row.id,
        principal=principal,
        field="state",
        before=row.state,
        after=after,
        note=note,
    )
    row.state = after
    row.updated_at = clock.now()


def record_audit(
    session: Session,
    principal: Principal,
    action: str,
    row: Change,
    before: dict[str, object],
    after: ChangeView,
) -> None:
    shown = after.fields()
    changed = [k for k in shown if before.get(k) != shown[k]]
    audit.record(
        session,
        principal=principal,
        action=action,
        entity_type=ENTITY,
        entity_id=row.key,
        before={k: before.get(k) for k in changed},
        after={k: shown[k] for k in changed},
    )


def check_gate(session: Session, row: Change, principal: Principal, action: str) -> list[str]:
    """Refuses (409) to approve or start a normal or standard change while the service's
    error-budget policy blocks changes, unless an admin overrode the gate; an emergency change
    passes with a warning recorded on it."""
    found = gate.verdict(session, service=row.service)
    if found is None or not found.blocks:
        return []
    if row.model == ChangeModel.emergency or row.gate_override_by is not None:
        why = "emergency change" if row.gate_override_by is None else "gate overridden"
        message = f"{action} despite the error-budget gate ({why}): {found.describe()}"
        add_warning(row, "error_budget", message)
        return [message]
    raise Conflict(
        f"cannot {action} {row.key}: {found.describe()}; an admin may override the gate "
        "with a reason",
        field="service",
    )


def submit(
    session: Session, *, principal: Principal, key: str, policy: ChangePolicy = DEFAULT_POLICY
) -> Outcome:
    """A draft goes to the CAB; a standard change is pre-approved on the way."""
    require(principal, WRITE_ROLE)
    row = find_row(session, key)
    check_complete(row)
    before = view_of(session, row, policy).fields()
    now = clock.now()
    move(session, row, principal, S.submitted)
    history.set_field(session, row, principal, "submitted_at", now)
    if row.model == ChangeModel.standard:
        # Two moves on the history, so it says the change was pre-approved, not decided.
        move(session, row, principal, S.approved, note="standard change: pre-approved")
        history.set_field(session, row, principal, "approved_at", now)
    after = view_of(session, row, policy)
    record_audit(session, principal, "change.submit", row, before, after)
    announcing.submitted(session, after)
    if row.model == ChangeModel.standard:
        announcing.approved(session, after, "standard change", "pre-approved")
    return Outcome(after)


def _decider(session: Session, principal: Principal, as_user: str | None) -> str:
    """Who decides: the principal, or (for the CLI, which acts as admin) the named user, who
    needs the approver role themselves."""
    require(principal, DECIDE_ROLE)
    if as_user is None:
        return principal.actor
    require(principal, Role.admin)
    try:
        found = auth.get_user(session, username=as_user.strip())
    except NotFound:
        raise ValidationFailed(
            f"as_user: no opsloop user named {as_user!r}", field="as_user"
        ) from None
    if found.disabled or not found.role.allows(DECIDE_ROLE):
        raise Forbidden(f"{found.username} does not have the {DECIDE_ROLE.value} role")
    return found.username


def _check_decidable(session: Session, row: Change, decider: str) -> None:
    if row.state == S.draft:
        raise Conflict(f"{row.key} is a draft; it must be submitted first", field="state")
    if row.requester is not None and decider == row.requester:
        raise Forbidden(f"{decider} requested {row.key} and cannot decide on it")
    emergency_after_start = row.model == ChangeModel.emergency and row.started_at is not None
    if row.state != S.submitted and not (emergency_after_start and row.approved_at is None):
        raise Conflict(
            f"{row.key} is {row.state.value}; the CAB decides on submitted changes",
            field="state",
        )
    taken = session.scalar(
        select(ChangeApproval.decision).where(
            ChangeApproval.change_id == row.id, ChangeApproval.approver == decider
        )
    )
    if taken is not None:
        raise Conflict(f"{decider} has already decided on {row.key} ({taken.value})")


def approve(
    session: Session,
    *,
    principal: Principal,
    key: str,
    comment: str = "",
    as_user: str | None = None,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> Outcome:
    """One CAB approval. Once the change has the approvals its risk needs it is approved (an
    emergency change that already started keeps its state and gets its approval time)."""
    decider = _decider(session, principal, as_user)
    row = find_row(session, key)
    _check_decidable(session, row, decider)
    comment = text(comment, "comment")
    before = view_of(session, row, policy).fields()
    warnings = check_gate(session, row, principal, "approve")
    session.add(
        ChangeApproval(
            change_id=row.id,
            approver=decider,
            decision=Decision.approve,
            comment=comment,
            at=clock.now(),
        )
    )
    history.record(
        session,
        change_id=row.id,
        principal=principal,
        field="approval",
        before=None,
        after=decider,
        note=comment,
    )
    row.updated_at = clock.now()
    current = view_of(session, row, policy)
    decided = current.approvals_given >= current.approvals_needed
    if decided:
        if row.state == S.submitted:
            move(session, row, principal, S.approved)
        history.set_field(session, row, principal, "approved_at", clock.now())
    after = view_of(session, row, policy)
    record_audit(session, principal, "change.approve", row, before, after)
    if decided:
        announcing.approved(session, after, decider, comment)
    return Outcome(after, tuple(warnings))


def reject(
    session: Session,
    *,
    principal: Principal,
    key: str,
    comment: str,
    as_user: str | None = None,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> Outcome:
    """One CAB member's rejection rejects a submitted change. An emergency change that already
    ran keeps its state: the rejection stays on record and it is never approved."""
    decider = _decider(session, principal, as_user)
    row = find_row(session, key)
    _check_decidable(session, row, decider)
    comment = text(comment, "comment", required=True)
    before = view_of(session, row, policy).fields()
    session.add(
        ChangeApproval(
            change_id=row.id,
            approver=decider,
            decision=Decision.reject,
            comment=comment,
            at=clock.now(),
        )
    )
    history.record(
        session,
        change_id=row.id,
        principal=principal,
        field="rejection",
        before=None,
        after=decider,
        note=comment,
    )
    if row.state == S.submitted:
        move(session, row, principal, S.rejected, note=comment)
    else:
        add_warning(row, "rejected", f"rejected after it started by {decider}: {comment}")
    row.updated_at = clock.now()
    after = view_of(session, row, policy)
    record_audit(session, principal, "change.reject", row, before, after)
    announcing.rejected(session, after, decider, comment)
    return Outcome(after)


def override_gate(
    session: Session,
    *,
    principal: Principal,
    key: str,
    reason: str,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> Outcome:
    """An admin lets a normal or standard change through the error-budget gate while the
    service's policy blocks changes. The reason is stored on the change and audited."""
    require(principal, OVERRIDE_ROLE)
    row = find_row(session, key)
    reason = text(reason, "reason", required=True)
    if row.model == ChangeModel.emergency:
        raise Conflict("emergency changes pass the gate already", field="model")
    if row.state.is_final or row.state in (S.in_progress, S.completed):
        raise Conflict(f"{row.key} is {row.state.value}; nothing left to gate", field="state")
    if row.gate_override_by is not None:
        raise Conflict(f"the gate of {row.key} was overridden already", field="state")
    found = gate.verdict(session, service=row.service)
    if found is None or not found.blocks:
        raise Conflict(
            f"the error-budget policy of {row.service!r} does not block changes now",
            field="service",
        )
    before = view_of(session, row, policy).fields()
    now = clock.now()
    history.set_field(session, row, principal, "gate_override_by", principal.actor, note=reason)
    row.gate_override_reason = reason
    row.gate_override_at = now
    add_warning(row, "gate_override", f"gate overridden by {principal.actor}: {found.describe()}")
    row.updated_at = now
    after = view_of(session, row, policy)
    record_audit(session, principal, "change.gate_override", row, before, after)
    return Outcome(after, (found.describe(),))
