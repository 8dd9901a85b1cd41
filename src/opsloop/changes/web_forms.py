"""Change writes from the browser: raise a change, submit it, CAB decisions, schedule, start,
complete, fail, roll back, override the gate, and declare or remove freezes. Each form needs
the API route's role and calls the same service function; a refusal re-renders the page with
the message next to the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.changes import execution, freezes, workflow
from opsloop.changes import service as changes
from opsloop.changes.deps import Policy
from opsloop.changes.rules import ChangeModel, ChangePolicy, RiskLevel, parse_choice
from opsloop.changes.web_context import DECIDE_ROLE, OVERRIDE_ROLE, WRITE_ROLE, render_change
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.services import service as catalog
from opsloop.web.routes import DB, form_error, render, signed_in_as, writing_as

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form()]
Page = Annotated[ActiveSession, Depends(signed_in_as(WRITE_ROLE))]
Writer = Annotated[ActiveSession, Depends(writing_as(WRITE_ROLE))]
Decider = Annotated[ActiveSession, Depends(writing_as(DECIDE_ROLE))]
Overrider = Annotated[ActiveSession, Depends(writing_as(OVERRIDE_ROLE))]


def form_time(text: str, field: str) -> datetime:
    """A datetime-local value (UTC) or ISO 8601 text."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(f"{field}: not a date and time", field=field) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def form_minutes(text: str, field: str) -> timedelta:
    try:
        minutes = int(text.strip())
    except ValueError:
        raise ValidationFailed(f"{field}: a whole number of minutes", field=field) from None
    if not 1 <= minutes <= 7 * 24 * 60:
        raise ValidationFailed(f"{field}: from 1 minute to 7 days", field=field)
    return timedelta(minutes=minutes)


def _new_form(
    request: Request,
    db: DB,
    active: ActiveSession,
    policy: ChangePolicy,
    status: int = 200,
    **ctx: Any,
) -> Response:
    with db.read() as session:
        names = [s.name for s in catalog.list_services(session, offset=0)]
    return render(
        request,
        "change_form.html",
        active,
        status,
        service_names=names,
        categories=policy.categories,
        models=list(ChangeModel),
        risks=list(RiskLevel),
        **ctx,
    )


@router.get("/changes/new", response_class=HTMLResponse)
def new_change(request: Request, db: DB, active: Page, policy: Policy) -> Response:
    return _new_form(request, db, active, policy, form={})


@router.post("/changes/new", response_class=HTMLResponse)
def create_change(
    request: Request,
    db: DB,
    active: Writer,
    policy: Policy,
    title: Field = "",
    service: Field = "",
    category: Field = "",
    model: Field = "normal",
    risk: Field = "medium",
    description: Field = "",
    impact_analysis: Field = "",
    rollback_plan: Field = "",
    implementer: Field = "",
    draft: Field = "",
) -> Response:
    form = {
        "title": title,
        "service": service,
        "category": category,
        "model": model,
        "risk": risk,
        "description": description,
        "impact_analysis": impact_analysis,
        "rollback_plan": rollback_plan,
        "implementer": implementer,
    }
    try:
        with db.write() as session:
            found = changes.create(
                session,
                principal=active.principal,
                title=title,
                service=service,
                category=category,
                model=parse_choice(ChangeModel, model, "model"),
                risk=parse_choice(RiskLevel, risk, "risk"),
                description=description,
                impact_analysis=impact_analysis,
                rollback_plan=rollback_plan,
                implementer=implementer or None,
                policy=policy,
            )
            if not draft:
                workflow.submit(session, principal=active.principal, key=found.key, policy=policy)
    except OpsloopError as exc:
        return _new_form(request, db, active, policy, exc.status, form=form, **form_error(exc))
    return RedirectResponse(f"/changes/{found.key}", status_code=303)


def _act(
    request: Request,
    db: DB,
    active: ActiveSession,
    key: str,
    policy: ChangePolicy,
    action: Callable[..., workflow.Outcome],
    form: dict[str, str],
    **values: Any,
) -> Response:
    try:
        with db.write() as session:
            outcome = action(session, principal=active.principal, key=key, policy=policy, **values)
    except OpsloopError as exc:
        return render_change(request, db, active, key, policy, failed=exc, form=form)
    if outcome.warnings:
        # Shown once, on the page the action answers with (also kept on the change).
        return render_change(request, db, active, key, policy, warnings=outcome.warnings)
    return RedirectResponse(f"/changes/{key}", status_code=303)


@router.post("/changes/{key}/submit", response_class=HTMLResponse)
def submit(request: Request, key: str, db: DB, active: Writer, policy: Policy) -> Response:
    return _act(request, db, active, key, policy, workflow.submit, {})


@router.post("/changes/{key}/approve", response_class=HTMLResponse)
def approve(
    request: Request, key: str, db: DB, active: Decider, policy: Policy, comment: Field = ""
) -> Response:
    form = {"comment": comment}
    return _act(request, db, active, key, policy, workflow.approve, form, comment=comment)


@router.post("/changes/{key}/reject", response_class=HTMLResponse)
def reject(
    request: Request, key: str, db: DB, active: Decider, policy: Policy, comment: Field = ""
) -> Response:
    form = {"comment": comment}
    return _act(request, db, active, key, policy, workflow.reject, form, comment=comment)


@router.post("/changes/{key}/schedule", response_class=HTMLResponse)
def schedule(
    request: Request,
    key: str,
    db: DB,
    active: Writer,
    policy: Policy,
    window_start: Field = "",
    duration_minutes: Field = "",
) -> Response:
    form = {"window_start": window_start, "duration_minutes": duration_minutes}
    try:
        start = form_time(window_start, "window_start")
        duration = form_minutes(duration_minutes, "duration")
    except ValidationFailed as exc:
        return render_change(request, db, active, key, policy, failed=exc, form=form)
    return _act(
        request, db, active, key, policy, execution.schedule, form, start=start, duration=duration
    )


@router.post("/changes/{key}/start", response_class=HTMLResponse)
def start(request: Request, key: str, db: DB, active: Writer, policy: Policy) -> Response:
    return _act(request, db, active, key, policy, execution.start, {})


@router.post("/changes/{key}/complete", response_class=HTMLResponse)
def complete(
    request: Request, key: str, db: DB, active: Writer, policy: Policy, note: Field = ""
) -> Response:
    return _act(request, db, active, key, policy, execution.complete, {"note": note}, note=note)


@router.post("/changes/{key}/fail", response_class=HTMLResponse)
def fail(
    request: Request, key: str, db: DB, active: Writer, policy: Policy, reason: Field = ""
) -> Response:
    return _act(request, db, active, key, policy, execution.fail, {"reason": reason}, reason=reason)


@router.post("/changes/{key}/rollback", response_class=HTMLResponse)
def rollback(
    request: Request,
    key: str,
    db: DB,
    active: Writer,
    policy: Policy,
    reason: Field = "",
    incident_key: Field = "",
) -> Response:
    form = {"reason": reason, "incident_key": incident_key}
    return _act(
        request,
        db,
        active,
        key,
        policy,
        execution.rollback,
        form,
        reason=reason,
        incident_key=incident_key or None,
    )


@router.post("/changes/{key}/override-gate", response_class=HTMLResponse)
def override_gate(
    request: Request, key: str, db: DB, active: Overrider, policy: Policy, reason: Field = ""
) -> Response:
    form = {"override_reason": reason}
    return _act(request, db, active, key, policy, workflow.override_gate, form, reason=reason)


Freezer = Annotated[ActiveSession, Depends(writing_as(freezes.WRITE_ROLE))]


@router.post("/changes/freezes", response_class=HTMLResponse)
def add_freeze(
    request: Request,
    db: DB,
    active: Freezer,
    name: Field = "",
    starts_at: Field = "",
    ends_at: Field = "",
    service: Field = "",
    reason: Field = "",
) -> Response:
    try:
        start = form_time(starts_at, "starts_at")
        end = form_time(ends_at, "ends_at")
        with db.write() as session:
            freezes.create_freeze(
                session,
                principal=active.principal,
                name=name,
                starts_at=start,
                ends_at=end,
                service=service or None,
                reason=reason,
            )
    except OpsloopError as exc:
        return _freeze_refused(request, db, active, exc)
    return RedirectResponse(f"/changes/calendar?week={start.date().isoformat()}", status_code=303)


@router.post("/changes/freezes/{freeze_id}/delete", response_class=HTMLResponse)
def delete_freeze(request: Request, freeze_id: int, db: DB, active: Freezer) -> Response:
    try:
        with db.write() as session:
            freezes.delete_freeze(session, principal=active.principal, freeze_id=freeze_id)
    except OpsloopError as exc:
        return _freeze_refused(request, db, active, exc)
    return RedirectResponse("/changes/calendar", status_code=303)


def _freeze_refused(request: Request, db: DB, active: ActiveSession, exc: OpsloopError) -> Response:
    return render(
        request,
        "change_freeze_refused.html",
        active,
        exc.status,
        **form_error(exc),
    )
