"""The browser's side of impact assessment and verification: the assessment page for a change
still to be raised, and the "verify now" button on the change page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.changes import assessment, silencing, verification
from opsloop.changes.deps import Policy
from opsloop.changes.jobs import verify_rules
from opsloop.changes.web_context import render_change
from opsloop.changes.web_forms import Field, Writer, form_minutes, form_time
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.core.schemas import text_problem
from opsloop.services import service as catalog
from opsloop.slo.deps import prometheus_client
from opsloop.web.routes import DB, Active, form_error, render

router = APIRouter(include_in_schema=False)


@router.get("/changes/assess", response_class=HTMLResponse)
def assess_page(
    request: Request,
    db: DB,
    active: Active,
    policy: Policy,
    service: str = "",
    start: str = "",
    duration: str = "60",
    category: str = "",
) -> Response:
    """Pick a service and a window; see what the change would run into."""
    form = {"service": service, "start": start, "duration": duration, "category": category}
    context: dict[str, Any] = {"form": form, "categories": policy.categories, "a": None}
    with db.read() as session:
        context["service_names"] = [s.name for s in catalog.list_services(session, offset=0)]
        if service:
            try:
                for name, value in form.items():
                    if problem := text_problem(value):
                        raise ValidationFailed(f"{name}: {problem}", field=name)
                    if len(value) > 63:
                        raise ValidationFailed(f"{name}: at most 63 characters", field=name)
                context["a"] = assessment.assess(
                    session,
                    service=service,
                    start=form_time(start, "start") if start.strip() else None,
                    duration=form_minutes(duration or "60", "duration"),
                    category=category or None,
                    policy=policy,
                )
            except ValidationFailed as exc:
                return render(
                    request, "change_assess.html", active, 422, **context, **form_error(exc)
                )
    return render(request, "change_assess.html", active, **context)


@router.post("/changes/{key}/verify", response_class=HTMLResponse)
def verify(request: Request, key: str, db: DB, active: Writer, policy: Policy) -> Response:
    try:
        with db.write() as session:
            verification.verify(
                session,
                principal=active.principal,
                key=key,
                prometheus=prometheus_client(request),
                rules=verify_rules(request.app.state.settings),
                policy=policy,
            )
    except OpsloopError as exc:
        return render_change(request, db, active, key, policy, failed=exc)
    return RedirectResponse(f"/changes/{key}", status_code=303)


@router.post("/changes/{key}/silence", response_class=HTMLResponse)
def silence(
    request: Request,
    key: str,
    db: DB,
    active: Writer,
    policy: Policy,
    silence_alerts: Field = "",
    matchers: Field = "",
) -> Response:
    """The silence asked for while the change runs: one matcher a line."""
    form = {"silence_alerts": silence_alerts, "matchers": matchers}
    try:
        with db.write() as session:
            silencing.set_silence(
                session,
                principal=active.principal,
                key=key,
                enabled=bool(silence_alerts),
                matchers=[line for line in matchers.splitlines() if line.strip()],
            )
    except OpsloopError as exc:
        return render_change(request, db, active, key, policy, failed=exc, form=form)
    return RedirectResponse(f"/changes/{key}", status_code=303)
