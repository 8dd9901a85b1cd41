"""Alert pages: the firing alerts (the table refreshes itself every 15 seconds) and one alert
with its labels, annotations, runbook, service, SLO, acknowledgement and feedback.
Responders acknowledge and give feedback here with the same service functions as the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
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
SHOWN = 200


def _firing(db: DB) -> list[AlertOut]:
    flt = alerts.AlertFilter(status=AlertStatus.firing)
    with db.read() as session:
        return [AlertOut.of(a) for a in alerts.list_alerts(session, flt=flt, limit=SHOWN)]


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, db: DB, active: Active) -> Response:
    # htmx asks for the table alone every 15 seconds; a full load gets the page around it.
    name = "alert_rows.html" if request.headers.get("HX-Request") else "alert_list.html"
    return render(request, name, active, alerts=_firing(db), may_write=may(active, WRITE_ROLE))


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
