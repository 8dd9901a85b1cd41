"""What the change page shows, shared by the page and the forms that re-render it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from opsloop.changes import gate, workflow
from opsloop.changes import service as changes
from opsloop.changes.rules import MOVES, ChangeModel, ChangePolicy, ChangeState
from opsloop.changes.web_impact_context import impact_of
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError
from opsloop.web.routes import DB, form_error, may, render

WRITE_ROLE = changes.WRITE_ROLE
DECIDE_ROLE = workflow.DECIDE_ROLE
OVERRIDE_ROLE = workflow.OVERRIDE_ROLE


def render_change(
    request: Request,
    db: DB,
    active: ActiveSession,
    key: str,
    policy: ChangePolicy,
    *,
    failed: OpsloopError | None = None,
    warnings: tuple[str, ...] = (),
    form: dict[str, str] | None = None,
) -> Response:
    """The change page; after a refused form, with the message and what was typed."""
    with db.read() as session:
        found = changes.get_change(session, key=key, policy=policy)
        past = changes.history_of_change(session, key=key)
        verdict = gate.verdict(session, service=found.service)
        impact = impact_of(session, key=found.key, policy=policy)
    state = found.state
    moves = MOVES[state]
    may_write = may(active, WRITE_ROLE)
    emergency = found.model == ChangeModel.emergency
    decidable = state == ChangeState.submitted or (
        emergency and found.started_at is not None and found.approved_at is None
    )
    decided_by = {a.approver for a in found.approvals}
    return render(
        request,
        "change_detail.html",
        active,
        failed.status if failed else 200,
        change=found,
        history=list(reversed(past)),
        verdict=verdict,
        may_write=may_write,
        may_decide=may(active, DECIDE_ROLE)
        and decidable
        and active.principal.actor != found.requester
        and active.principal.actor not in decided_by,
        may_override=may(active, OVERRIDE_ROLE)
        and not emergency
        and found.gate_override_by is None
        and verdict is not None
        and verdict.blocks
        and state
        in (ChangeState.draft, ChangeState.submitted, ChangeState.approved, ChangeState.scheduled),
        can_submit=may_write and state == ChangeState.draft,
        can_schedule=may_write and ChangeState.scheduled in moves,
        can_start=may_write
        and ChangeState.in_progress in moves
        and (state != ChangeState.submitted or emergency),
        can_finish=may_write and ChangeState.completed in moves,
        can_rollback=may_write and ChangeState.rolled_back in moves,
        action_warnings=warnings,
        can_verify=may_write and state == ChangeState.completed,
        **impact,
        form=form or {},
        **(form_error(failed) if failed else {}),
    )
