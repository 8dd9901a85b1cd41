"""The SLO pages: the list with status and policy badges, one SLO with its burn-down.

Writes (create, apply, reset, delete, policy) are in :mod:`opsloop.slo.web_forms`; both call the
SLO service, like the API does.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.core.schemas import Id
from opsloop.slo import service as slo_service
from opsloop.slo.web_context import detail_context
from opsloop.slo.web_forms import ROLES
from opsloop.slo.web_forms import router as forms_router
from opsloop.web.routes import DB, Active, render

router = APIRouter(include_in_schema=False)
router.include_router(forms_router)  # first: /slos/new must not be read as /slos/{slo_id}


@router.get("/slos", response_class=HTMLResponse)
def slo_list(request: Request, db: DB, active: Active, service: str | None = None) -> Response:
    with db.read() as session:
        rows = slo_service.list_slos(session, service=service)
        latest = slo_service.latest_results(session, slo_ids=[s.id for s in rows])
    items = [{"slo": slo, "status": latest.get(slo.id)} for slo in rows]
    return render(request, "slo_list.html", active, items=items, service=service, slo_roles=ROLES)


@router.get("/slos/{slo_id}", response_class=HTMLResponse)
def slo_detail(request: Request, slo_id: Id, db: DB, active: Active) -> Response:
    return render(
        request, "slo_detail.html", active, slo_roles=ROLES, **detail_context(request, db, slo_id)
    )
