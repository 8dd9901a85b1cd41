"""The action item API: items of an incident's review under /api/v1/pirs/{key}/action-items,
and every review's items under /api/v1/action-items. Thin: parse, call the service, shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from opsloop.actions import api_json, escalation
from opsloop.actions import service as actions
from opsloop.actions.rules import overdue_since, parse_priority, parse_status
from opsloop.actions.schemas import (
    EscalatedOut,
    EscalationRun,
    ItemCreate,
    ItemOut,
    ItemPatch,
    NoteIn,
)
from opsloop.core import clock
from opsloop.core.config import Settings
from opsloop.core.counters import Dated, serve_kept_until
from opsloop.core.deps import (
    ReadSession,
    Responder,
    Viewer,
    WriteSession,
    get_settings,
)
from opsloop.core.schemas import (
    AUTHENTICATED,
    PLAIN_PATTERN,
    WITH_BODY,
    Id,
    Page,
    PageQuery,
    errors,
    plain_params,
)

router = APIRouter(
    prefix="/api/v1",
    tags=["Action items"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
KeyPath = Annotated[str, Path(max_length=16, pattern=PLAIN_PATTERN, description="INC-YYYY-NNN")]
NOT_FOUND = errors(404)
WRITE = {**WITH_BODY, **errors(404, 409)}
Config = Annotated[Settings, Depends(get_settings)]


@router.post(
    "/pirs/{key}/action-items",
    response_model=ItemOut,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE,
)
def create_item(
    key: KeyPath, body: ItemCreate, principal: Responder, session: WriteSession
) -> ItemOut:
    """Add an action item to the review of incident ``key``; its owner is told."""
    found = actions.create_item(
        session,
        principal=principal,
        incident_key=key,
        description=body.description,
        owner_user=body.owner_user,
        owner_team=body.owner_team,
        priority=body.priority,
        due_on=body.due_on,
        note=body.note,
    )
    return ItemOut.of(found)


@router.get("/pirs/{key}/action-items", response_model=list[ItemOut], responses=NOT_FOUND)
def items_of_incident(key: KeyPath, _: Viewer, session: ReadSession) -> list[ItemOut]:
    """The incident's action items, oldest first."""
    return [ItemOut.of(i) for i in actions.items_of_incident_key(session, key=key)]


@router.get(
    "/action-items",
    response_class=JSONResponse,
    responses={200: {"model": Page[ItemOut], "description": "a page of items, newest first"}},
)
async def list_items(
    request: Request,
    _: Viewer,
    paging: PageQuery,
    status: Annotated[
        str | None,
        Query(
            max_length=16,
            pattern=PLAIN_PATTERN,
            description="a status, or open (open and in_progress)",
        ),
    ] = None,
    owner: Annotated[
        str | None,
        Query(max_length=70, pattern=PLAIN_PATTERN, description="a username, or team:<name>"),
    ] = None,
    team: Annotated[
        str | None,
        Query(
            max_length=63,
            pattern=PLAIN_PATTERN,
            description="items owned by the team or by one of its members",
        ),
    ] = None,
    priority: Annotated[str | None, Query(max_length=8, pattern=PLAIN_PATTERN)] = None,
    due_within_days: Annotated[
        int | None,
        Query(ge=0, le=3650, description="open items due today or within this many days"),
    ] = None,
    overdue: Annotated[bool, Query(description="open items past their due date")] = False,
    incident: Annotated[
        str | None, Query(max_length=16, pattern=PLAIN_PATTERN, description="an incident key")
    ] = None,
) -> Response:
    """A page of the items of every review, newest first."""
    flt = actions.ItemFilter(
        status=parse_status(status) if status and status != "open" else None,
        open_only=status == "open",
        owner=owner,
        team=team,
        priority=parse_priority(priority) if priority else None,
        due_within_days=due_within_days,
        overdue=overdue,
        incident=incident,
    )

    def page(conn: Connection) -> Dated:
        # Taken first: the filter's "today" is then this day or a later one, and the answer
        # expires at the earlier instant.
        now = clock.now()
        # A session only for the filter's team and incident lookups; the page itself is rows.
        with Session(bind=conn) as session:
            where = actions.conditions(session, flt)
        rows = api_json.page_rows(conn, where, before_id=paging.after, limit=paging.limit + 1)
        body, changes_at = api_json.page_json_until(conn, rows, paging.limit, now)
        if flt.overdue or flt.due_within_days is not None:
            # These filters read today's date: the items they select change at midnight UTC.
            midnight = overdue_since(now.date())
            changes_at = midnight if changes_at is None else min(changes_at, midnight)
        return body, changes_at

    # Kept per filter and page until an item (or what the filter reads) changes, or the clock
    # reaches an instant at which the page would read differently.
    key = ("api/action-items", flt, paging.after, paging.limit)
    body = await serve_kept_until(request, api_json.GENERATION, key, page)
    return Response(body, media_type="application/json")


@router.post("/action-items/escalate", response_model=EscalationRun)
def escalate(
    principal: Responder,
    session: WriteSession,
    settings: Config,
    dry_run: Annotated[
        bool, Query(description="say what would be escalated; change nothing")
    ] = False,
) -> EscalationRun:
    """Escalate overdue items now, as the minute job does; answers what was escalated."""
    found = escalation.escalate_by_hand(
        session,
        principal=principal,
        now=clock.now(),
        after_days=settings.action_escalate_after_days,
        dry_run=dry_run,
    )
    return EscalationRun(dry_run=dry_run, escalated=[EscalatedOut.of(e) for e in found])


@router.get("/action-items/{item_id:int}", response_model=ItemOut, responses=NOT_FOUND)
def get_item(item_id: Id, _: Viewer, session: ReadSession) -> ItemOut:
    return ItemOut.of(actions.get_item(session, item_id=item_id))


@router.patch("/action-items/{item_id:int}", response_model=ItemOut, responses=WRITE)
def update_item(
    item_id: Id, body: ItemPatch, principal: Responder, session: WriteSession
) -> ItemOut:
    """Edit fields or move the status, with an optional note (won't do needs one)."""
    found = actions.update_item(
        session, principal=principal, item_id=item_id, changes=body.changes(), note=body.note
    )
    return ItemOut.of(found)


@router.post(
    "/action-items/{item_id:int}/notes",
    response_model=ItemOut,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE,
)
def add_note(item_id: Id, body: NoteIn, principal: Responder, session: WriteSession) -> ItemOut:
    return ItemOut.of(
        actions.add_note(session, principal=principal, item_id=item_id, text=body.text)
    )
