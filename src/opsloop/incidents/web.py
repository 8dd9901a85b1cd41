"""The incident pages: the list with filters and badges, and one incident with its timeline
and controls. Forms are in :mod:`opsloop.incidents.web_forms`; both call the incident
services, like the API does."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.core.counters import serve_kept_until
from opsloop.core.deps import run_read
from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import text_problem
from opsloop.incidents import listing, web_list
from opsloop.incidents import service as incidents
from opsloop.incidents.deps import Targets
from opsloop.incidents.rules import Status, parse_severity
from opsloop.incidents.vocabulary import parse_choice
from opsloop.incidents.web_context import WRITE_ROLE, render_incident
from opsloop.incidents.web_forms import router as forms_router
from opsloop.incidents.web_settings import router as settings_router
from opsloop.incidents.web_templates import router as templates_router
from opsloop.web.routes import DB, Active, form_error, may, render

router = APIRouter(include_in_schema=False)
# First: /incidents/new, /incidents/templates and /incidents/settings must not be read as keys.
router.include_router(forms_router)
router.include_router(templates_router)
router.include_router(settings_router)


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


@router.get("/incidents", response_class=HTMLResponse)
async def incident_list(
    request: Request,
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
    may_declare = may(active, WRITE_ROLE)
    try:
        flt = checked_filter(params)
    except ValidationFailed as exc:
        error = form_error(exc)
        body = await run_read(
            request,
            lambda conn: web_list.refused_body(conn, params, error, may_declare=may_declare),
        )
        return render(request, "incident_list.html", active, 422, body=body)
    kept = await serve_kept_until(
        request,
        listing.GENERATION,
        web_list.list_key(params, page, may_declare=may_declare, targets=targets),
        lambda conn: web_list.list_body(
            conn, flt, params, page, may_declare=may_declare, targets=targets
        ),
    )
    return render(request, "incident_list.html", active, body=kept.decode())


@router.get("/incidents/{key}", response_class=HTMLResponse)
def incident_detail(
    request: Request, key: str, db: DB, active: Active, targets: Targets
) -> Response:
    return render_incident(request, db, active, key, targets)
