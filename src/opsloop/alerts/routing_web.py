"""Web pages of alert routing and silences: the rules and silences page (/alerts/routing), the
"silence similar" form of an alert's page, and the alerts of an incident (a fragment the
incident page loads). Responders write here with the same service functions as the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from opsloop.alerts import routing_rules, silences
from opsloop.alerts import service as alerts
from opsloop.alerts.alertmanager_client import AlertmanagerClient
from opsloop.alerts.schemas import AlertOut
from opsloop.core import clock
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.core.schemas import Id
from opsloop.incidents import lookup
from opsloop.web.routes import DB, Active, Config, form_error, may, render, writing_as

router = APIRouter(include_in_schema=False)
WRITE_ROLE = routing_rules.WRITE_ROLE
Writer = Annotated[ActiveSession, Depends(writing_as(WRITE_ROLE))]
DURATIONS = [
    (30, "30 minutes"),
    (60, "1 hour"),
    (120, "2 hours"),
    (240, "4 hours"),
    (1440, "1 day"),
]


def _page(
    request: Request, db: DB, active: ActiveSession, config: Any, status: int = 200, **ctx: Any
) -> Response:
    with db.read() as session:
        rules = routing_rules.list_rules(session)
        shown = silences.list_silences(session, include_expired=True, limit=100)
    return render(
        request,
        "alert_routing.html",
        active,
        status,
        rules=rules,
        silences=shown,
        durations=DURATIONS,
        alertmanager=bool(config.alertmanager_url),
        may_write=may(active, WRITE_ROLE),
        form=ctx.pop("form", {}),
        **ctx,
    )


@router.get("/alerts/routing", response_class=HTMLResponse)
def routing_page(request: Request, db: DB, active: Active, config: Config) -> Response:
    return _page(request, db, active, config)


@router.post("/alerts/routing/rules", response_class=HTMLResponse)
def add_rule(
    request: Request,
    db: DB,
    active: Writer,
    config: Config,
    matchers: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "declare",
    severity: Annotated[str, Form()] = "SEV3",
    name: Annotated[str, Form()] = "",
    fallback_declare: Annotated[str, Form()] = "",
    continue_matching: Annotated[str, Form()] = "",
) -> Response:
    try:
        with db.write() as session:
            routing_rules.add_rule(
                session,
                principal=active.principal,
                matchers=matchers,
                action=action,
                severity=severity,
                name=name,
                fallback_declare=bool(fallback_declare),
                continue_matching=bool(continue_matching),
            )
    except OpsloopError as exc:
        form = {"matchers": matchers, "name": name, "action": action, "severity": severity}
        return _page(request, db, active, config, exc.status, form=form, **form_error(exc))
    return RedirectResponse("/alerts/routing", status_code=303)


@router.post("/alerts/routing/rules/{rule_id:int}/delete", response_class=HTMLResponse)
def delete_rule(rule_id: Id, request: Request, db: DB, active: Writer, config: Config) -> Response:
    try:
        with db.write() as session:
            routing_rules.delete_rule(session, principal=active.principal, rule_id=rule_id)
    except OpsloopError as exc:
        return _page(request, db, active, config, exc.status, **form_error(exc))
    return RedirectResponse("/alerts/routing", status_code=303)


@router.post("/alerts/silences", response_class=HTMLResponse)
def create_silence(
    request: Request,
    db: DB,
    active: Writer,
    config: Config,
    matchers: Annotated[str, Form()] = "",
    minutes: Annotated[str, Form()] = "60",
    comment: Annotated[str, Form()] = "",
) -> Response:
    try:
        if not minutes.isdigit() or not 1 <= int(minutes) <= 366 * 1440:
            raise ValidationFailed("duration: a number of minutes", field="minutes")
        client = AlertmanagerClient.from_settings(config)
        with db.write() as session:
            silences.create_silence(
                session,
                principal=active.principal,
                matchers=matchers.splitlines(),
                starts_at=None,
                ends_at=clock.now() + timedelta(minutes=int(minutes)),
                comment=comment,
                alertmanager=client,
            )
    except OpsloopError as exc:
        form = {"silence_matchers": matchers, "comment": comment}
        return _page(request, db, active, config, exc.status, form=form, **form_error(exc))
    return RedirectResponse("/alerts/routing#silences", status_code=303)


@router.post("/alerts/silences/{silence_id:int}/expire", response_class=HTMLResponse)
def expire_silence(
    silence_id: Id, request: Request, db: DB, active: Writer, config: Config
) -> Response:
    try:
        client = AlertmanagerClient.from_settings(config)
        with db.write() as session:
            silences.expire_silence(
                session, principal=active.principal, silence_id=silence_id, alertmanager=client
            )
    except OpsloopError as exc:
        return _page(request, db, active, config, exc.status, **form_error(exc))
    return RedirectResponse("/alerts/routing#silences", status_code=303)


def alert_context(session: Session, request: Request, alert: AlertOut) -> dict[str, Any]:
    """What an alert's page adds: its incident, and the "silence similar" form prefilled."""
    found = lookup.refs_by_id(session, [alert.incident_id]) if alert.incident_id else {}
    return {
        "incident": found.get(alert.incident_id) if alert.incident_id else None,
        "silence_matchers": "\n".join(silences.similar_to(alert.labels)),
        "durations": DURATIONS,
        "alertmanager": bool(request.app.state.settings.alertmanager_url),
    }


@router.get("/alerts/of-incident/{incident_id:int}", response_class=HTMLResponse)
def alerts_of_incident(incident_id: Id, request: Request, db: DB, active: Active) -> Response:
    with db.read() as session:
        rows = [AlertOut.of(a) for a in alerts.alerts_of_incident(session, incident_id=incident_id)]
    return render(request, "incident_alerts.html", active, alerts=rows)
