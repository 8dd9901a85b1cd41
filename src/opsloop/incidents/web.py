"""The incident pages: the list with filters and badges, and one incident with its timeline
and controls. Forms are in :mod:`opsloop.incidents.web_forms`; both call the incident
services, like the API does."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.core import clock
from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import text_problem
from opsloop.incidents import listing
from opsloop.incidents import service as incidents
from opsloop.incidents.deps import Targets
from opsloop.incidents.rules import Severity, Status, parse_severity
from opsloop.incidents.vocabulary import parse_choice
from opsloop.incidents.web_context import RESPONSE_TEXT, WRITE_ROLE, render_incident
from opsloop.incidents.web_forms import router as forms_router
from opsloop.incidents.web_settings import router as settings_router
from opsloop.incidents.web_templates import router as templates_router
from opsloop.services import service as catalog
from opsloop.services import teams
from opsloop.web.routes import DB, Active, form_error, may, render

router = APIRouter(include_in_schema=False)
# First: /incidents/new, /incidents/templates and /incidents/settings must not be read as keys.
router.include_router(forms_router)
router.include_router(templates_router)
router.include_router(settings_router)

PAGE_SIZE = 50


def checked_filter(params: dict[str, str]) -> incidents.IncidentFilter:
    for name, value in params.items():
        if problem := text_problem(value):
            raise ValidationFailed(f"{name}: {problem}", field=name)
    status = params["status"]
    for name in ("service", "team"):
        if len(params[name]) > 63:
            raise ValidationFailed(f"{name}: at most 63 characters", field=name)
    return incidents.IncidentFilter(
        status=parse_choice(Status, status, "status") if status and status != "open" else None,
        open_only=status == "open",
        severity=parse_severity(params["severity"]) if params["severity"] else None,
        service=params["service"] or None,
        team=params["team"] or None,
        since=_day(params["since"], "since"),
        until=_day(params["until"], "until"),
    )


def _day(text: str, name: str) -> datetime | None:
    """A date of the filter form (UTC midnight); ``until`` is not included."""
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    except ValueError:
        raise ValidationFailed(
            f"{name}: not a date {text!r} (like 2026-11-02)", field=name
        ) from None


def _link(params: dict[str, str], page: int) -> str:
    shown = {k: v for k, v in params.items() if v}
    return "/incidents?" + urlencode({**shown, "page": page})


@router.get("/incidents", response_class=HTMLResponse)
def incident_list(
    request: Request,
    db: DB,
    active: Active,
    targets: Targets,
    status: str = "",
    severity: str = "",
    service: str = "",
    team: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> Response:
    """Incidents newest first, narrowed by the filter form's GET parameters."""
    params = {
        "status": status,
        "severity": severity,
        "service": service,
        "team": team,
        "since": since,
        "until": until,
    }
    page = max(page, 1)
    context: dict[str, Any] = {
        "params": params,
        "statuses": list(Status),
        "severities": list(Severity),
        "may_declare": may(active, WRITE_ROLE),
        "response_text": RESPONSE_TEXT,
    }
    with db.read() as session:
        context["service_names"] = catalog.service_names(session)
        context["team_names"] = [t.name for t in teams.list_teams(session)]
        try:
            flt = checked_filter(params)
        except ValidationFailed as exc:
            return render(
                request, "incident_list.html", active, 422, items=[], **context, **form_error(exc)
            )
        total = incidents.count_incidents(session, flt=flt)
        items = listing.listed(
            session.connection(),
            flt,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
            now=clock.now(),
            targets=targets,
        )
    first = (page - 1) * PAGE_SIZE
    return render(
        request,
        "incident_list.html",
        active,
        items=items,
        total=total,
        filtered=flt != incidents.IncidentFilter(),
        first_shown=first + 1,
        last_shown=first + len(items),
        previous_link=_link(params, page - 1) if page > 1 else None,
        next_link=_link(params, page + 1) if first + len(items) < total else None,
        **context,
    )


@router.get("/incidents/{key}", response_class=HTMLResponse)
def incident_detail(
    request: Request, key: str, db: DB, active: Active, targets: Targets
) -> Response:
    return render_incident(request, db, active, key, targets)
