"""The change API under /api/v1/changes and /api/v1/freezes: thin, it parses, calls the change
services and shapes the answer. Workflow answers carry ``action_warnings``: what the action
warned of (overlapping windows, a freeze or the error-budget gate passed by an emergency)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection

from opsloop.changes import api_json, execution, freezes, paths, workflow
from opsloop.changes import service as changes
from opsloop.changes.deps import Policy
from opsloop.changes.rules import ChangeModel, ChangeState, RiskLevel, parse_choice
from opsloop.changes.schemas import (
    ChangeCreate,
    ChangeOut,
    ChangePatch,
    ChangeRow,
    DecisionIn,
    FreezeIn,
    FreezeOut,
    HistoryOut,
    NoteIn,
    ReasonIn,
    RejectIn,
    RollbackIn,
    ScheduleIn,
)
from opsloop.core.counters import serve_kept
from opsloop.core.deps import (
    Admin,
    Approver,
    ReadSession,
    Responder,
    Viewer,
    WriteSession,
)
from opsloop.core.schemas import (
    AUTHENTICATED,
    PLAIN_PATTERN,
    WITH_BODY,
    Page,
    PageQuery,
    Timestamp,
    errors,
    plain_params,
)

router = APIRouter(
    prefix="/api/v1",
    tags=["Changes"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
KeyPath = Annotated[str, Path(max_length=16, pattern=PLAIN_PATTERN, description="CR-YYYY-NNN")]
NOT_FOUND = errors(404)
WRITE = {**WITH_BODY, **errors(404, 409)}


def _out(outcome: workflow.Outcome) -> ChangeOut:
    return ChangeOut.detail(outcome.change, outcome.warnings)


@router.post(
    "/changes", response_model=ChangeOut, status_code=status.HTTP_201_CREATED, responses=WRITE
)
def create_change(
    body: ChangeCreate, principal: Responder, session: WriteSession, policy: Policy
) -> ChangeOut:
    """Raise a change: a draft with the year's next key, or submitted at once with
    ``submit: true`` (a standard change is then pre-approved)."""
    found = changes.create(
        session,
        principal=principal,
        policy=policy,
        **body.model_dump(exclude={"submit"}),
    )
    if body.submit:
        return _out(workflow.submit(session, principal=principal, key=found.key, policy=policy))
    return ChangeOut.detail(found)


@router.get(
    "/changes",
    response_class=JSONResponse,
    responses={200: {"model": Page[ChangeRow], "description": "a page of changes, newest first"}},
)
async def list_changes(
    request: Request,
    _: Viewer,
    paging: PageQuery,
    state: Annotated[str | None, Query(max_length=16, pattern=PLAIN_PATTERN)] = None,
    service: Annotated[str | None, Query(max_length=63, pattern=PLAIN_PATTERN)] = None,
    model: Annotated[str | None, Query(max_length=16, pattern=PLAIN_PATTERN)] = None,
    risk: Annotated[str | None, Query(max_length=8, pattern=PLAIN_PATTERN)] = None,
    since: Annotated[
        Timestamp | None, Query(description="window (or, unscheduled, raised) at or after")
    ] = None,
    until: Annotated[Timestamp | None, Query(description="window (or raised) before")] = None,
) -> Response:
    """A page of changes, newest first."""
    flt = changes.ChangeFilter(
        state=parse_choice(ChangeState, state, "state") if state else None,
        service=service,
        model=parse_choice(ChangeModel, model, "model") if model else None,
        risk=parse_choice(RiskLevel, risk, "risk") if risk else None,
        since=since,
        until=until,
    )

    def page(conn: Connection) -> bytes:
        # Built here, only when the answer is: since after until is refused from here too.
        where = changes.conditions(flt)
        rows = api_json.page_rows(conn, where, before_id=paging.after, limit=paging.limit + 1)
        return api_json.page_json(rows, paging.limit)

    # Kept per filter and page until a change changes: nothing in it depends on the time.
    key = ("api/changes", flt, paging.after, paging.limit)
    body = await serve_kept(request, api_json.GENERATION, key, page)
    return Response(body, media_type="application/json")


@router.get(f"/changes/{paths.KEY}", response_model=ChangeOut, responses=NOT_FOUND)
def get_change(key: KeyPath, _: Viewer, session: ReadSession, policy: Policy) -> ChangeOut:
    return ChangeOut.detail(changes.get_change(session, key=key, policy=policy))


@router.patch(f"/changes/{paths.KEY}", response_model=ChangeOut, responses=WRITE)
def update_change(
    key: KeyPath, body: ChangePatch, principal: Responder, session: WriteSession, policy: Policy
) -> ChangeOut:
    """Edit fields; each change is audited and lands on the history with before and after."""
    found = changes.update(
        session, principal=principal, key=key, changes=body.changes(), policy=policy
    )
    return ChangeOut.detail(found)


@router.get("/changes/{key}/history", response_model=list[HistoryOut], responses=NOT_FOUND)
def get_history(key: KeyPath, _: Viewer, session: ReadSession) -> list[HistoryOut]:
    """Every change of state and field in time order: who, when, before and after."""
    return [HistoryOut.of(h) for h in changes.history_of_change(session, key=key)]


@router.post("/changes/{key}/submit", response_model=ChangeOut, responses=WRITE)
def submit(key: KeyPath, principal: Responder, session: WriteSession, policy: Policy) -> ChangeOut:
    return _out(workflow.submit(session, principal=principal, key=key, policy=policy))


@router.post("/changes/{key}/approve", response_model=ChangeOut, responses=WRITE)
def approve(
    key: KeyPath, body: DecisionIn, principal: Approver, session: WriteSession, policy: Policy
) -> ChangeOut:
    """A CAB approval (not of your own change); 409 while the error-budget gate is closed
    for a normal change."""
    outcome = workflow.approve(
        session, principal=principal, key=key, comment=body.comment, policy=policy
    )
    return _out(outcome)


@router.post("/changes/{key}/reject", response_model=ChangeOut, responses=WRITE)
def reject(
    key: KeyPath, body: RejectIn, principal: Approver, session: WriteSession, policy: Policy
) -> ChangeOut:
    outcome = workflow.reject(
        session, principal=principal, key=key, comment=body.comment, policy=policy
    )
    return _out(outcome)


@router.post("/changes/{key}/schedule", response_model=ChangeOut, responses=WRITE)
def schedule(
    key: KeyPath, body: ScheduleIn, principal: Responder, session: WriteSession, policy: Policy
) -> ChangeOut:
    """Put an approved change into a window; 409 naming a freeze it falls in."""
    outcome = execution.schedule(
        session,
        principal=principal,
        key=key,
        start=body.window_start,
        duration=timedelta(minutes=body.duration_minutes),
        policy=policy,
    )
    return _out(outcome)


@router.post("/changes/{key}/start", response_model=ChangeOut, responses=WRITE)
def start(key: KeyPath, principal: Responder, session: WriteSession, policy: Policy) -> ChangeOut:
    return _out(execution.start(session, principal=principal, key=key, policy=policy))


@router.post("/changes/{key}/complete", response_model=ChangeOut, responses=WRITE)
def complete(
    key: KeyPath, body: NoteIn, principal: Responder, session: WriteSession, policy: Policy
) -> ChangeOut:
    outcome = execution.complete(
        session, principal=principal, key=key, note=body.note, policy=policy
    )
    return _out(outcome)


@router.post("/changes/{key}/fail", response_model=ChangeOut, responses=WRITE)
def fail(
    key: KeyPath, body: ReasonIn, principal: Responder, session: WriteSession, policy: Policy
) -> ChangeOut:
    outcome = execution.fail(
        session, principal=principal, key=key, reason=body.reason, policy=policy
    )
    return _out(outcome)


@router.post("/changes/{key}/rollback", response_model=ChangeOut, responses=WRITE)
def rollback(
    key: KeyPath, body: RollbackIn, principal: Responder, session: WriteSession, policy: Policy
) -> ChangeOut:
    outcome = execution.rollback(
        session,
        principal=principal,
        key=key,
        reason=body.reason,
        incident_key=body.incident_key,
        policy=policy,
    )
    return _out(outcome)


@router.post("/changes/{key}/override-gate", response_model=ChangeOut, responses=WRITE)
def override_gate(
    key: KeyPath, body: ReasonIn, principal: Admin, session: WriteSession, policy: Policy
) -> ChangeOut:
    """Let a change through the error-budget gate (admins, with a reason; audited)."""
    outcome = workflow.override_gate(
        session, principal=principal, key=key, reason=body.reason, policy=policy
    )
    return _out(outcome)


@router.post(
    "/freezes", response_model=FreezeOut, status_code=status.HTTP_201_CREATED, responses=WRITE
)
def create_freeze(body: FreezeIn, principal: Approver, session: WriteSession) -> FreezeOut:
    """A period no change may be scheduled into (emergency changes excepted)."""
    return FreezeOut.of(freezes.create_freeze(session, principal=principal, **body.model_dump()))


@router.get("/freezes", response_model=list[FreezeOut])
def list_freezes(
    _: Viewer,
    session: ReadSession,
    service: Annotated[
        str | None, Query(max_length=63, pattern=PLAIN_PATTERN, description="its and global")
    ] = None,
    since: Annotated[Timestamp | None, Query(description="ending after")] = None,
    until: Annotated[Timestamp | None, Query(description="starting before")] = None,
) -> list[FreezeOut]:
    found = freezes.list_freezes(session, since=since, until=until, service=service)
    return [FreezeOut.of(f) for f in found]


@router.delete("/freezes/{freeze_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_freeze(
    freeze_id: Annotated[int, Path(ge=1, le=2**31 - 1)], principal: Approver, session: WriteSession
) -> Response:
    freezes.delete_freeze(session, principal=principal, freeze_id=freeze_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
