"""Alert pages: the firing alerts (the table refreshes itself every 15 seconds) and one alert
with its labels, annotations, runbook, service, SLO, acknowledgement and feedback.
Responders acknowledge and give feedback here with the same service functions as the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.alerts import routing_web
from opsloop.alerts import service as alerts
from opsloop.alerts.models import AlertStatus, Feedback
from opsloop.alerts.schemas import AlertOut
from opsloop.core.auth.roles import Role
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.core.schemas import Id
from opsloop.web.routes import DB, Active, form_error, may, render, writing_as

router = APIRouter(include_in_schema=False)
WRITE_ROLE = Role.responder
Writer = Annotated[ActiveSession, Depends(writing_as(WRITE_ROLE))]
PAGE = 50


@dataclass(frozen=True)
class ListQuery:
    """The list's filters and cursor as the page's links carry them."""

    status: str = "firing"
    service: str = ""
    severity: str = ""
    before: int | None = None

    def link(self, **changes: Any) -> str:
        fields = {**vars(self), **changes}
        kept = {k: v for k, v in fields.items() if v not in (None, "")}
        return "/alerts?" + urlencode(kept)


def _listed(db: DB, query: ListQuery) -> tuple[list[AlertOut], int | None]:
    status = AlertStatus(query.status) if query.status in AlertStatus.__members__ else None
    flt = alerts.AlertFilter(
        status=status, service=query.service or None, severity=query.severity or None
    )
    with db.read() as session:
        rows = alerts.list_alerts(session, flt=flt, limit=PAGE + 1, before_id=query.before)
    older = rows[PAGE - 1].id if len(rows) > PAGE else None
    return [AlertOut.of(a) for a in rows[:PAGE]], older


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    db: DB,
    active: Active,
    status: Annotated[Literal["firing", "resolved", "all"], Query()] = "firing",
    service: Annotated[str, Query(max_length=63)] = "",
    severity: Annotated[str, Query(max_length=32)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    query = ListQuery(status, service, severity, before)
    rows, older = _listed(db, query)
    # htmx asks for the table alone every 15 seconds; a full load gets the page around it.
    name = "alert_rows.html" if request.headers.get("HX-Request") else "alert_list.html"
    return render(
        request,
        name,
        active,
        alerts=rows,
        query=query,
        older=query.link(before=older) if older else None,
        may_write=may(active, WRITE_ROLE),
    )


def _alert_page(
    request: Request, db: DB, active: ActiveSession, alert_id: int, status: int = 200, **ctx: Any
) -> Response:
    with db.read() as session:
        out = AlertOut.of(alerts.get_alert(session, alert_id=alert_id))
        ctx.update(routing_web.alert_context(session, request, out))
    return render(
        request,
        "alert_detail.html",
        active,
        status,
        alert=out,
        may_write=may(active, WRITE_ROLE),
        **ctx,
    )


@router.get("/alerts/{alert_id:int}", response_class=HTMLResponse)
def alert_page(alert_id: Id, request: Request, db: DB, active: Active) -> Response:
    return _alert_page(request, db, active, alert_id)


@router.post("/alerts/{alert_id:int}/ack", response_class=HTMLResponse)
def acknowledge(
    alert_id: Id,
    request: Request,
    db: DB,
    active: Writer,
    back: Annotated[str, Form()] = "",
) -> Response:
    try:
        with db.write() as session:
            alerts.acknowledge(session, principal=active.principal, alert_id=alert_id)
    except OpsloopError as exc:
        return _alert_page(request, db, active, alert_id, exc.status, **form_error(exc))
    target = "/alerts" if back == "list" else f"/alerts/{alert_id}"
    return RedirectResponse(target, status_code=303)


@router.post("/alerts/{alert_id:int}/feedback", response_class=HTMLResponse)
def feedback(
    alert_id: Id,
    request: Request,
    db: DB,
    active: Writer,
    verdict: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
) -> Response:
    try:
        if verdict not in Feedback.__members__:
            raise ValidationFailed("verdict: actionable or false_positive", field="verdict")
        with db.write() as session:
            alerts.give_feedback(
                session,
                principal=active.principal,
                alert_id=alert_id,
                verdict=Feedback(verdict),
                action=action,
            )
    except OpsloopError as exc:
        return _alert_page(
            request, db, active, alert_id, exc.status, form={"action": action}, **form_error(exc)
        )
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
