"""Incident writes from the browser: declare, move the status, acknowledge, post an update,
add to the timeline, edit roles, times and impact, and the resolution record. Each form needs
the API route's role and calls the same service function; a refusal re-renders the page with
the message next to the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from opsloop.core import clock
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.incidents import lifecycle
from opsloop.incidents import service as incidents
from opsloop.incidents.deps import Targets
from opsloop.incidents.resolution import parse_record
from opsloop.incidents.rules import Severity, Status, parse_severity
from opsloop.incidents.views import IncidentView
from opsloop.incidents.vocabulary import (
    TIME_FIELDS,
    Audience,
    DetectionMethod,
    EventKind,
    parse_choice,
)
from opsloop.incidents.web_context import WRITE_ROLE, render_incident
from opsloop.services import service as catalog
from opsloop.web.routes import DB, form_error, render, signed_in_as, writing_as

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form()]
Page = Annotated[ActiveSession, Depends(signed_in_as(WRITE_ROLE))]
Writer = Annotated[ActiveSession, Depends(writing_as(WRITE_ROLE))]
TIME_FORMAT = "%Y-%m-%dT%H:%M"
CHECKS = (
    ("verification", "service_restored"),
    ("verification", "metrics_normalised"),
    ("verification", "user_confirmation"),
    ("follow_up", "postmortem_scheduled"),
    ("follow_up", "action_items_created"),
    ("follow_up", "communication_sent"),
)


def form_time(text: str, field: str) -> datetime | None:
    """A datetime-local value (UTC) or ISO 8601 text; blank is None."""
    if not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(f"{field}: not a date and time", field=field) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def form_list(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _declare_form(
    request: Request, db: DB, active: ActiveSession, status: int = 200, **ctx: Any
) -> Response:
    with db.read() as session:
        names = [s.name for s in catalog.list_services(session, offset=0)]
    return render(
        request,
        "incident_form.html",
        active,
        status,
        service_names=names,
        severities=list(Severity),
        detection_methods=list(DetectionMethod),
        **ctx,
    )


@router.get("/incidents/new", response_class=HTMLResponse)
def new_incident(request: Request, db: DB, active: Page) -> Response:
    return _declare_form(request, db, active, form={"severity": "SEV3"})


@router.post("/incidents/new", response_class=HTMLResponse)
def declare(
    request: Request,
    db: DB,
    active: Writer,
    targets: Targets,
    title: Field = "",
    severity: Field = "",
    summary: Field = "",
    services: Annotated[list[str] | None, Form()] = None,
    detection_method: Field = "other",
    commander: Field = "",
    started_at: Field = "",
    users_affected: Field = "",
) -> Response:
    form = {
        "title": title,
        "severity": severity,
        "summary": summary,
        "services": services or [],
        "detection_method": detection_method,
        "commander": commander,
        "started_at": started_at,
        "users_affected": users_affected,
    }
    try:
        with db.write() as session:
            found = incidents.declare(
                session,
                principal=active.principal,
                title=title,
                severity=parse_severity(severity),
                summary=summary,
                services=services or [],
                detection_method=parse_choice(
                    DetectionMethod, detection_method, "detection_method"
                ),
                commander=commander or None,
                started_at=form_time(started_at, "started_at"),
                users_affected=_count(users_affected),
                targets=targets,
            )
    except OpsloopError as exc:
        return _declare_form(request, db, active, exc.status, form=form, **form_error(exc))
    return RedirectResponse(f"/incidents/{found.key}", status_code=303)


def _count(text: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isascii() or not text.strip().isdigit():
        raise ValidationFailed("users_affected: a whole number", field="users_affected")
    return int(text.strip())


def _act(
    request: Request,
    db: DB,
    active: ActiveSession,
    key: str,
    targets: dict[Severity, timedelta],
    action: Callable[[Session], object],
    form: dict[str, str] | None = None,
) -> Response:
    """Run one write; back to the page, or the page with the refusal."""
    try:
        with db.write() as session:
            action(session)
    except OpsloopError as exc:
        return render_incident(request, db, active, key, targets, failed=exc, form=form)
    return RedirectResponse(f"/incidents/{key}", status_code=303)


@router.post("/incidents/{key}/status", response_class=HTMLResponse)
def change_status(
    request: Request,
    key: str,
    db: DB,
    active: Writer,
    targets: Targets,
    status: Field = "",
    note: Field = "",
) -> Response:
    return _act(
        request,
        db,
        active,
        key,
        targets,
        lambda s: lifecycle.change_status(
            s,
            principal=active.principal,
            key=key,
            status=parse_choice(Status, status, "status"),
            note=note,
            targets=targets,
        ),
        {"note": note},
    )


@router.post("/incidents/{key}/acknowledge", response_class=HTMLResponse)
def acknowledge(request: Request, key: str, db: DB, active: Writer, targets: Targets) -> Response:
    return _act(
        request,
        db,
        active,
        key,
        targets,
        lambda s: lifecycle.acknowledge(s, principal=active.principal, key=key, targets=targets),
    )


@router.post("/incidents/{key}/updates", response_class=HTMLResponse)
def post_update(
    request: Request,
    key: str,
    db: DB,
    active: Writer,
    targets: Targets,
    audience: Field = "internal",
    template: Field = "",
    text: Field = "",
    next_update_minutes: Field = "",
) -> Response:
    form = {
        "audience": audience,
        "template": template,
        "text": text,
        "next_update_minutes": next_update_minutes,
    }

    def post(session: Session) -> object:
        minutes = next_update_minutes.strip()
        if minutes and (not minutes.isascii() or not minutes.isdigit() or int(minutes) < 1):
            raise ValidationFailed(
                "next_update_minutes: a whole number of minutes", field="next_update_minutes"
            )
        return lifecycle.post_update(
            session,
            principal=active.principal,
            key=key,
            audience=parse_choice(Audience, audience, "audience"),
            text=text or None,
            template=template or None,
            next_update_at=clock.now() + timedelta(minutes=int(minutes)) if minutes else None,
            targets=targets,
        )

    return _act(request, db, active, key, targets, post, form)


@router.post("/incidents/{key}/timeline", response_class=HTMLResponse)
def add_event(
    request: Request,
    key: str,
    db: DB,
    active: Writer,
    targets: Targets,
    kind: Field = "note",
    text: Field = "",
) -> Response:
    return _act(
        request,
        db,
        active,
        key,
        targets,
        lambda s: lifecycle.add_event(
            s,
            principal=active.principal,
            key=key,
            kind=parse_choice(EventKind, kind, "kind"),
            text=text,
        ),
        {"event_text": text},
    )


def edit_changes(found: IncidentView, form: dict[str, str]) -> dict[str, Any]:
    """What the edit form changes: only the fields whose shown value was altered."""
    changes: dict[str, Any] = {}
    for name in (
        "title",
        "summary",
        "revenue_impact",
        "commander",
        "communications_lead",
        "scribe",
        "caused_by_change",
    ):
        if form[name].strip() != (getattr(found, name) or ""):
            changes[name] = form[name]
    if form["severity"] != found.severity.value:
        changes["severity"] = form["severity"]
    shown_users = "" if found.users_affected is None else str(found.users_affected)
    if form["users_affected"].strip() != shown_users:
        changes["users_affected"] = _count(form["users_affected"])
    for name, current in (
        ("services", found.services),
        ("features_impacted", found.features_impacted),
    ):
        if form_list(form[name]) != list(current):
            changes[name] = form_list(form[name])
    for name in TIME_FIELDS:
        current = getattr(found, name)
        shown = current.strftime(TIME_FORMAT) if current else ""
        if form[name].strip() and form[name].strip()[:16] != shown:
            changes[name] = form_time(form[name], name)
    return changes


@router.post("/incidents/{key}/edit", response_class=HTMLResponse)
async def edit(request: Request, key: str, db: DB, active: Writer, targets: Targets) -> Response:
    posted = await request.form()
    names = (
        "title",
        "summary",
        "revenue_impact",
        "commander",
        "communications_lead",
        "scribe",
        "severity",
        "users_affected",
        "services",
        "features_impacted",
        "caused_by_change",
        *TIME_FIELDS,
    )
    form = {name: str(posted.get(name, "")) for name in names}

    def save(session: Session) -> object:
        found = incidents.get_incident(session, key=key, targets=targets)
        return incidents.update_incident(
            session,
            principal=active.principal,
            key=key,
            changes=edit_changes(found, form),
            targets=targets,
        )

    return await _in_thread(request, db, active, key, targets, save, form)


async def _in_thread(
    request: Request,
    db: DB,
    active: ActiveSession,
    key: str,
    targets: dict[Severity, timedelta],
    action: Callable[[Session], object],
    form: dict[str, str],
) -> Response:
    return await run_in_threadpool(_act, request, db, active, key, targets, action, form)


@router.post("/incidents/{key}/resolution", response_class=HTMLResponse)
async def resolution(
    request: Request, key: str, db: DB, active: Writer, targets: Targets
) -> Response:
    posted = await request.form()
    record: dict[str, Any] = {
        "detection": {"notes": str(posted.get("detection_notes", ""))},
        "diagnosis": {
            "root_cause": str(posted.get("root_cause", "")),
            "contributing_factors": [
                line.strip()
                for line in str(posted.get("contributing_factors", "")).splitlines()
                if line.strip()
            ],
        },
        "resolution": {"fix_applied": str(posted.get("fix_applied", ""))},
        "verification": {},
        "follow_up": {},
    }
    how = str(posted.get("detection_how", ""))
    if how:
        record["detection"]["how"] = how
    for part, name in CHECKS:
        record[part][name] = posted.get(name) == "1"

    def save(session: Session) -> object:
        return lifecycle.set_resolution(
            session,
            principal=active.principal,
            key=key,
            record=parse_record(record),
            targets=targets,
        )

    return await _in_thread(request, db, active, key, targets, save, {})
