"""The SLO pages: the list with status and policy badges, one SLO with its burn-down.

Writes (create, apply, reset, delete, policy) are in :mod:`opsloop.slo.web_forms`; both call the
SLO service, like the API does.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.core.counters import serve_kept
from opsloop.core.deps import run_read
from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import Id
from opsloop.slo import listing, web_list
from opsloop.slo.web_context import detail_context
from opsloop.slo.web_forms import ROLES
from opsloop.slo.web_forms import router as forms_router
from opsloop.web.routes import DB, Active, form_error, may, render

router = APIRouter(include_in_schema=False)
router.include_router(forms_router)  # first: /slos/new must not be read as /slos/{slo_id}


@router.get("/slos", response_class=HTMLResponse)
async def slo_list(
    request: Request,
    active: Active,
    service: str = "",
    state: str = "",
    source: str = "",
    q: str = "",
    page: int = 1,
) -> Response:
    """A page of SLOs in service/name order, narrowed by the filter form's GET parameters."""
    params = {"service": service, "state": state, "source": source, "q": q}
    may_create = may(active, ROLES["create"])
    try:
        flt = web_list.checked_filter(params)
    except ValidationFailed as exc:
        error = form_error(exc)
        body = await run_read(
            request,
            lambda conn: web_list.refused_body(conn, params, error, may_create=may_create),
        )
        return render(request, "slo_list.html", active, 422, body=body)
    kept = await serve_kept(
        request,
        listing.GENERATION,
        web_list.list_key(params, page, may_create=may_create),
        lambda conn: web_list.list_body(conn, flt, params, page, may_create=may_create),
    )
    return render(request, "slo_list.html", active, body=kept.decode())


@router.get("/slos/{slo_id}", response_class=HTMLResponse)
def slo_detail(request: Request, slo_id: Id, db: DB, active: Active) -> Response:
    return render(
        request, "slo_detail.html", active, slo_roles=ROLES, **detail_context(request, db, slo_id)
    )
