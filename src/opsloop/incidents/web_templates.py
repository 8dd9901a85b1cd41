"""The status-update templates page: everyone reads the wording, approvers change it (the API
route's role), each template reset to the shipped wording when its text is emptied."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError
from opsloop.incidents import lifecycle
from opsloop.incidents.update_templates import PLACEHOLDERS
from opsloop.web.routes import DB, Active, form_error, may, render, writing_as

router = APIRouter(include_in_schema=False)
Writer = Annotated[ActiveSession, Depends(writing_as(lifecycle.TEMPLATE_ROLE))]


def _page(
    request: Request, db: DB, active: ActiveSession, status: int = 200, **ctx: Any
) -> Response:
    with db.read() as session:
        found = lifecycle.list_templates(session)
    return render(
        request,
        "incident_templates.html",
        active,
        status,
        templates=found,
        placeholders=PLACEHOLDERS,
        may_edit=may(active, lifecycle.TEMPLATE_ROLE),
        **ctx,
    )


@router.get("/incidents/templates", response_class=HTMLResponse)
def templates_page(request: Request, db: DB, active: Active) -> Response:
    return _page(request, db, active)


@router.post("/incidents/templates", response_class=HTMLResponse)
async def save_templates(request: Request, db: DB, active: Writer) -> Response:
    posted = await request.form()
    with db.read() as session:
        current = lifecycle.list_templates(session)
    changes = []
    for template in current:
        field = f"{template.name}.{template.audience.value}"
        if field not in posted:
            continue
        body = str(posted[field]).replace("\r\n", "\n").strip()
        if body != template.body:
            changes.append((template.name, template.audience, body or None))
    try:
        with db.write() as session:
            lifecycle.put_templates(session, principal=active.principal, templates=changes)
    except OpsloopError as exc:
        return _page(request, db, active, exc.status, **form_error(exc))
    return RedirectResponse("/incidents/templates", status_code=303)
