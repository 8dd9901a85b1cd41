"""The review pages: the list, the compliance view, one review read as its rendered
document (or a published revision), and its downloads. The editor and the state, timeline
and meeting forms are in :mod:`opsloop.pirs.web_forms`; both call the review services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.incidents.deps import Targets
from opsloop.pirs import compliance, reading, render
from opsloop.pirs.deps import PolicyDep
from opsloop.pirs.rules import PirState, parse_state, parse_window
from opsloop.pirs.web_context import render_pir
from opsloop.pirs.web_forms import router as forms_router
from opsloop.web.routes import DB, Active, form_error
from opsloop.web.routes import render as page

router = APIRouter(include_in_schema=False)
router.include_router(forms_router)
PAGE_SIZE = 100


@router.get("/pirs", response_class=HTMLResponse)
def pir_list(
    request: Request, db: DB, active: Active, policy: PolicyDep, state: str = "", overdue: str = ""
) -> Response:
    """Reviews newest first, narrowed by state and overdue."""
    params = {"state": state, "overdue": overdue}
    context: dict[str, Any] = {"params": params, "states": list(PirState)}
    try:
        wanted = parse_state(state) if state else None
        if overdue not in ("", "yes", "no"):
            raise ValidationFailed("overdue: yes, no or empty", field="overdue")
    except OpsloopError as exc:
        return page(
            request, "pir_list.html", active, exc.status, items=[], **context, **form_error(exc)
        )
    with db.read() as session:
        items = reading.list_pirs(
            session,
            state=wanted,
            overdue={"yes": True, "no": False}.get(overdue),
            limit=PAGE_SIZE,
            policy=policy,
        )
    return page(request, "pir_list.html", active, items=items, **context)


@router.get("/compliance", response_class=HTMLResponse)
def compliance_page(
    request: Request,
    db: DB,
    active: Active,
    policy: PolicyDep,
    targets: Targets,
    since: str = "30d",
) -> Response:
    try:
        window = parse_window(since)
    except OpsloopError as exc:
        return page(
            request,
            "pir_compliance.html",
            active,
            exc.status,
            since=since,
            report=None,
            **form_error(exc),
        )
    with db.read() as session:
        report = compliance.incident_compliance(
            session, window=window, policy=policy, targets=targets
        )
    return page(request, "pir_compliance.html", active, since=since, report=report, policy=policy)


@router.get("/incidents/{key}/pir", response_class=HTMLResponse)
def pir_detail(request: Request, key: str, db: DB, active: Active, policy: PolicyDep) -> Response:
    return render_pir(request, db, active, key, policy)


@router.get("/incidents/{key}/pir/revisions/{number}", response_class=HTMLResponse)
def pir_revision(
    request: Request, key: str, number: int, db: DB, active: Active, policy: PolicyDep
) -> Response:
    return render_pir(request, db, active, key, policy, number=number)


@router.get("/incidents/{key}/pir/report")
def pir_report(
    key: str,
    db: DB,
    _: Active,
    policy: PolicyDep,
    format: str = "html",
    revision: int | None = None,
) -> Response:
    """The download the page links to; the same renderings as the API's."""
    if format not in render.FORMATS:
        raise ValidationFailed("format: md, html or pdf", field="format")
    with db.read() as session:
        doc = reading.document(session, key=key, number=revision, policy=policy)
    name = f"{doc.incident.key}-pir-r{doc.revision}.{format}"
    return Response(
        render.render(doc, format),
        media_type=render.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
