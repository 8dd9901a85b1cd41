"""The action item pages: the board of every review's items (a column per status, filters,
forms to add and update for responders) and the partial listing one incident's items that the
review page includes. Both call the action item services, like the API does."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.actions import service as actions
from opsloop.actions.rules import ItemStatus, Priority, parse_priority, parse_status
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.core.schemas import text_problem
from opsloop.services import teams
from opsloop.web.routes import DB, Active, form_error, may, render, writing_as

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form()]
Writer = Annotated[ActiveSession, Depends(writing_as(actions.WRITE_ROLE))]
#: Closed columns show the most recent; open ones everything that matches.
COLUMN_SIZE = 100
FILTERS = ("owner", "team", "incident", "overdue")


def _form_date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(f"{field}: not a date (like 2026-12-20)", field=field) from None


def _owner(text: str) -> dict[str, str | None]:
    user, team = actions.parse_owner(text)
    return {"owner_user": user, "owner_team": team}


def _filter(params: dict[str, str]) -> actions.ItemFilter:
    for name, value in params.items():
        if problem := text_problem(value):
            raise ValidationFailed(f"{name}: {problem}", field=name)
        if len(value) > 70:
            raise ValidationFailed(f"{name}: at most 70 characters", field=name)
    return actions.ItemFilter(
        owner=params["owner"] or None,
        team=params["team"] or None,
        incident=params["incident"] or None,
        overdue=params["overdue"] == "on",
    )


def _board(
    request: Request, db: DB, active: ActiveSession, params: dict[str, str], status: int = 200,
    **ctx: Any,
) -> Response:  # fmt: skip
    columns: list[tuple[ItemStatus, list[Any], int]] = []
    context: dict[str, Any] = {
        "params": params,
        "statuses": list(ItemStatus),
        "priorities": list(Priority),
        "may_write": may(active, actions.WRITE_ROLE),
        **ctx,
    }
    with db.read() as session:
        context["team_names"] = teams.team_names(session)
        try:
            base = _filter(params)
            for item_status in ItemStatus:
                flt = actions.ItemFilter(**{**base.__dict__, "status": item_status})
                items = actions.list_items(session, flt=flt, limit=COLUMN_SIZE)
                columns.append((item_status, items, actions.count_items(session, flt=flt)))
        except OpsloopError as exc:
            return render(
                request, "actions/board.html", active, exc.status, columns=[], **context,
                **form_error(exc),
            )  # fmt: skip
    return render(request, "actions/board.html", active, status, columns=columns, **context)


def _params(owner: str, team: str, incident: str, overdue: str) -> dict[str, str]:
    return {"owner": owner, "team": team, "incident": incident, "overdue": overdue}


@router.get("/action-items", response_class=HTMLResponse)
def board(
    request: Request,
    db: DB,
    active: Active,
    owner: str = "",
    team: str = "",
    incident: str = "",
    overdue: str = "",
) -> Response:
    """Every review's items in a column per status, narrowed by the filter form."""
    return _board(request, db, active, _params(owner, team, incident, overdue))


@router.post("/action-items", response_class=HTMLResponse)
def add_item(
    request: Request,
    db: DB,
    active: Writer,
    incident: Field = "",
    description: Field = "",
    owner: Field = "",
    priority: Field = "P2",
    due_on: Field = "",
    note: Field = "",
) -> Response:
    try:
        with db.write() as session:
            actions.create_item(
                session,
                principal=active.principal,
                incident_key=incident,
                description=description,
                priority=parse_priority(priority),
                due_on=_form_date(due_on, "due_on"),
                note=note,
                **_owner(owner),
            )
    except OpsloopError as exc:
        entered = {"incident": incident, "description": description, "owner": owner,
                   "priority": priority, "due_on": due_on, "note": note}  # fmt: skip
        return _board(
            request, db, active, _params("", "", "", ""), exc.status, entered=entered,
            **form_error(exc),
        )  # fmt: skip
    return RedirectResponse("/action-items", status_code=303)


@router.post("/action-items/{item_id}", response_class=HTMLResponse)
def update_item(
    request: Request,
    item_id: int,
    db: DB,
    active: Writer,
    status: Field = "",
    note: Field = "",
    due_on: Field = "",
    owner: Field = "",
    priority: Field = "",
) -> Response:
    """The item's form: blank fields stay as they are."""
    try:
        changes: dict[str, Any] = {}
        if status.strip():
            changes["status"] = parse_status(status)
        if due_on.strip():
            changes["due_on"] = _form_date(due_on, "due_on")
        if owner.strip():
            changes.update(_owner(owner))
        if priority.strip():
            changes["priority"] = parse_priority(priority)
        with db.write() as session:
            actions.update_item(
                session, principal=active.principal, item_id=item_id, changes=changes, note=note
            )
    except OpsloopError as exc:
        return _board(
            request, db, active, _params("", "", "", ""), exc.status, failed_item=item_id,
            **form_error(exc),
        )  # fmt: skip
    return RedirectResponse(f"/action-items#item-{item_id}", status_code=303)


@router.get("/incidents/{key}/action-items", response_class=HTMLResponse)
def incident_items(request: Request, key: str, db: DB, active: Active) -> Response:
    """The incident's items as a fragment, for the review page to include (htmx or server)."""
    with db.read() as session:
        items = actions.items_of_incident_key(session, key=key)
    return render(request, "actions/_incident_items.html", active, items=items, key=key.upper())
