"""The catalog pages: the service list with filters, one service with its SLOs' budget state,
the teams and one team. Forms (create, edit) are in :mod:`opsloop.services.web_forms`; both
call the catalog's service, like the API does."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import text_problem
from opsloop.services import service as catalog
from opsloop.services import teams, usage
from opsloop.services.vocabulary import TIER_MEANINGS, Lifecycle, tier_meaning
from opsloop.services.web_forms import ROLES
from opsloop.services.web_forms import router as forms_router
from opsloop.web.routes import DB, Active, form_error, may, render

router = APIRouter(include_in_schema=False)
router.include_router(forms_router)  # first: /services/new must not be read as a service

PAGE_SIZE = 50


def checked_filter(params: dict[str, str]) -> catalog.ServiceFilter:
    """The list's GET parameters as a filter, or ValidationFailed naming the one at fault."""
    for name, value in params.items():
        if problem := text_problem(value):
            raise ValidationFailed(f"{name}: {problem}", field=name)
    tier = params["tier"]
    if tier and tier not in ("1", "2", "3", "4"):
        raise ValidationFailed("tier: must be 1, 2, 3 or 4", field="tier")
    lifecycle = params["lifecycle"]
    if lifecycle and lifecycle not in Lifecycle.__members__:
        raise ValidationFailed(
            f"lifecycle: must be one of {', '.join(Lifecycle)}", field="lifecycle"
        )
    if len(params["q"]) > 127:
        raise ValidationFailed("q: at most 127 characters", field="q")
    return catalog.ServiceFilter(
        team=params["team"] or None,
        tier=int(tier) if tier else None,
        lifecycle=lifecycle or None,
        q=params["q"] or None,
        unowned=params["unowned"] == "1",
    )


def _link(params: dict[str, str], page: int) -> str:
    shown = {k: v for k, v in params.items() if v}
    return "/services?" + urlencode({**shown, "page": page})


@router.get("/services", response_class=HTMLResponse)
def service_list(
    request: Request,
    db: DB,
    active: Active,
    team: str = "",
    tier: str = "",
    lifecycle: str = "",
    q: str = "",
    unowned: str = "",
    page: int = 1,
) -> Response:
    """A page of services in name order, narrowed by the filter form's GET parameters."""
    params = {"team": team, "tier": tier, "lifecycle": lifecycle, "q": q, "unowned": unowned}
    page = max(page, 1)
    context: dict[str, Any] = {
        "params": params,
        "tiers": TIER_MEANINGS,
        "lifecycles": list(Lifecycle),
        "may_create": may(active, ROLES["service"]),
    }
    with db.read() as session:
        context["team_names"] = teams.team_names(session)
        try:
            flt = checked_filter(params)
        except ValidationFailed as exc:
            return render(
                request,
                "service_list.html",
                active,
                422,
                items=[],
                total=0,
                **context,
                **form_error(exc),
            )
        total = catalog.count_services(session, flt=flt)
        items = catalog.list_services(
            session, flt=flt, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    first = (page - 1) * PAGE_SIZE
    return render(
        request,
        "service_list.html",
        active,
        items=items,
        total=total,
        filtered=flt != catalog.ServiceFilter(),
        first_shown=first + 1,
        last_shown=first + len(items),
        previous_link=_link(params, page - 1) if page > 1 else None,
        next_link=_link(params, page + 1) if first + len(items) < total else None,
        **context,
    )


def service_context(db: DB, name: str) -> dict[str, Any]:
    with db.read() as session:
        found = catalog.get_service(session, name=name)
        state = usage.budget_state(session, name=name)
    return {"service": found, "state": state, "tier_text": tier_meaning(found.tier)}


@router.get("/services/{name}", response_class=HTMLResponse)
def service_detail(request: Request, name: str, db: DB, active: Active) -> Response:
    return render(
        request, "service_detail.html", active, service_roles=ROLES, **service_context(db, name)
    )


@router.get("/teams", response_class=HTMLResponse)
def team_list(request: Request, db: DB, active: Active) -> Response:
    with db.read() as session:
        found = sorted(teams.list_teams(session), key=lambda t: t.name)
        owned = {t.name: catalog.services_owned_by(session, team=t.name) for t in found}
    return render(request, "team_list.html", active, teams=found, owned=owned, service_roles=ROLES)


def team_context(db: DB, name: str) -> dict[str, Any]:
    with db.read() as session:
        found = teams.get_team(session, name=name)
        owned = [
            catalog.get_service(session, name=service)
            for service in catalog.services_owned_by(session, team=name)
        ]
    return {"team": found, "owned": owned}


@router.get("/teams/{name}", response_class=HTMLResponse)
def team_detail(request: Request, name: str, db: DB, active: Active) -> Response:
    return render(
        request, "team_detail.html", active, service_roles=ROLES, **team_context(db, name)
    )
