"""Catalog writes from the browser: create and edit services (responders) and teams
(approvers). Each form needs the API route's role and calls the same service function; bad
input comes back as the form with the message next to the field."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.services import service as catalog
from opsloop.services import teams
from opsloop.services.entries import Link, ServiceEntry, TeamEntry
from opsloop.services.vocabulary import TIER_MEANINGS, Lifecycle
from opsloop.web.routes import DB, form_error, render, signed_in_as, writing_as

router = APIRouter(include_in_schema=False)

#: The role each form needs: the same as its API route.
ROLES = {"service": catalog.WRITE_ROLE, "team": teams.WRITE_ROLE}
Field = Annotated[str, Form()]


def _page(kind: str) -> Any:
    return Depends(signed_in_as(ROLES[kind]))


def _write(kind: str) -> Any:
    return Depends(writing_as(ROLES[kind]))


def parse_lines(text: str, field: str, separator: str) -> list[tuple[str, str]]:
    """``name<separator>value`` per line (blank lines skipped) as the forms' textareas hold."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.strip().partition(separator)
        if not sep or not key.strip() or not value.strip():
            raise ValidationFailed(
                f"{field}: line {number}: expected name{separator}value", field=field
            )
        found.append((key.strip(), value.strip()))
    return found


def _tier(text: str) -> int | None:
    if not text:
        return None
    if text not in ("1", "2", "3", "4"):
        raise ValidationFailed("tier: must be 1, 2, 3 or 4", field="tier")
    return int(text)


def _service_form(
    request: Request, db: DB, active: ActiveSession, status: int = 200, **ctx: Any
) -> Response:
    with db.read() as session:
        team_names = teams.team_names(session)
    return render(
        request,
        "service_form.html",
        active,
        status,
        team_names=team_names,
        tiers=TIER_MEANINGS,
        lifecycles=list(Lifecycle),
        **ctx,
    )


def _service_entry(form: dict[str, str], name: str) -> ServiceEntry:
    links = parse_lines(form["links"], "links", " ")
    return ServiceEntry(
        name=name,
        display_name=form["display_name"],
        description=form["description"],
        owner_team=form["owner_team"] or None,
        tier=_tier(form["tier"]),
        lifecycle=form["lifecycle"],
        links=tuple(Link(k, v) for k, v in links),
        labels=dict(parse_lines(form["labels"], "labels", "=")),
    )


def _service_fields(
    display_name: str,
    description: str,
    owner_team: str,
    tier: str,
    lifecycle: str,
    links: str,
    labels: str,
) -> dict[str, str]:
    return {
        "display_name": display_name.strip(),
        "description": description.strip(),
        "owner_team": owner_team.strip(),
        "tier": tier.strip(),
        "lifecycle": lifecycle.strip() or "production",
        "links": links,
        "labels": labels,
    }


@router.get("/services/new", response_class=HTMLResponse)
def new_service(
    request: Request, db: DB, active: Annotated[ActiveSession, _page("service")]
) -> Response:
    return _service_form(request, db, active, form={"lifecycle": "production"}, editing=None)


@router.post("/services/new", response_class=HTMLResponse)
def create_service(
    request: Request,
    db: DB,
    active: Annotated[ActiveSession, _write("service")],
    name: Field = "",
    display_name: Field = "",
    description: Field = "",
    owner_team: Field = "",
    tier: Field = "",
    lifecycle: Field = "production",
    links: Field = "",
    labels: Field = "",
) -> Response:
    form = _service_fields(display_name, description, owner_team, tier, lifecycle, links, labels)
    form["name"] = name.strip()
    try:
        entry = _service_entry(form, form["name"])
        with db.write() as session:
            catalog.create_service(session, principal=active.principal, entry=entry)
    except OpsloopError as exc:
        return _service_form(
            request, db, active, exc.status, form=form, editing=None, **form_error(exc)
        )
    return RedirectResponse(f"/services/{entry.name}", status_code=303)


@router.get("/services/{name}/edit", response_class=HTMLResponse)
def edit_service(
    request: Request, name: str, db: DB, active: Annotated[ActiveSession, _page("service")]
) -> Response:
    with db.read() as session:
        found = catalog.get_service(session, name=name)
    form = {
        "display_name": found.display_name,
        "description": found.description,
        "owner_team": found.owner_team or "",
        "tier": str(found.tier or ""),
        "lifecycle": found.lifecycle,
        "links": "\n".join(f"{link.name} {link.url}" for link in found.links),
        "labels": "\n".join(f"{k}={v}" for k, v in found.labels.items()),
    }
    return _service_form(request, db, active, form=form, editing=name)


@router.post("/services/{name}/edit", response_class=HTMLResponse)
def update_service(
    request: Request,
    name: str,
    db: DB,
    active: Annotated[ActiveSession, _write("service")],
    display_name: Field = "",
    description: Field = "",
    owner_team: Field = "",
    tier: Field = "",
    lifecycle: Field = "production",
    links: Field = "",
    labels: Field = "",
) -> Response:
    form = _service_fields(display_name, description, owner_team, tier, lifecycle, links, labels)
    try:
        entry = _service_entry(form, name)
        with db.write() as session:
            catalog.get_service(session, name=name)
            catalog.put_service(session, principal=active.principal, entry=entry)
    except OpsloopError as exc:
        return _service_form(
            request, db, active, exc.status, form=form, editing=name, **form_error(exc)
        )
    return RedirectResponse(f"/services/{name}", status_code=303)


def _team_form(request: Request, active: ActiveSession, status: int = 200, **ctx: Any) -> Response:
    return render(request, "team_form.html", active, status, **ctx)


def _team_entry(form: dict[str, str]) -> TeamEntry:
    members = parse_lines(form["members"], "members", " ")
    return TeamEntry(
        name=form["name"],
        display_name=form["display_name"],
        description=form["description"],
        chat_channel=form["chat_channel"],
        email=form["email"],
        members=dict(members),
    )


@router.get("/teams/new", response_class=HTMLResponse)
def new_team(request: Request, active: Annotated[ActiveSession, _page("team")]) -> Response:
    return _team_form(request, active, form={}, editing=None)


@router.get("/teams/{name}/edit", response_class=HTMLResponse)
def edit_team(
    request: Request, name: str, db: DB, active: Annotated[ActiveSession, _page("team")]
) -> Response:
    with db.read() as session:
        found = teams.get_team(session, name=name)
    form = {
        "name": name,
        "display_name": found.display_name,
        "description": found.description,
        "chat_channel": found.chat_channel,
        "email": found.email,
        "members": "\n".join(f"{user} {role}" for user, role in found.members.items()),
    }
    return _team_form(request, active, form=form, editing=name)


def _save_team(
    request: Request, db: DB, active: ActiveSession, form: dict[str, str], editing: str | None
) -> Response:
    try:
        entry = _team_entry(form)
        with db.write() as session:
            if editing:
                teams.get_team(session, name=editing)
                teams.put_team(session, principal=active.principal, entry=entry)
            else:
                teams.create_team(session, principal=active.principal, entry=entry)
    except OpsloopError as exc:
        return _team_form(
            request, active, exc.status, form=form, editing=editing, **form_error(exc)
        )
    return RedirectResponse(f"/teams/{entry.name}", status_code=303)


def _team_fields(
    name: str, display_name: str, description: str, chat_channel: str, email: str, members: str
) -> dict[str, str]:
    return {
        "name": name.strip(),
        "display_name": display_name.strip(),
        "description": description.strip(),
        "chat_channel": chat_channel.strip(),
        "email": email.strip(),
        "members": members,
    }


@router.post("/teams/new", response_class=HTMLResponse)
def create_team(
    request: Request,
    db: DB,
    active: Annotated[ActiveSession, _write("team")],
    name: Field = "",
    display_name: Field = "",
    description: Field = "",
    chat_channel: Field = "",
    email: Field = "",
    members: Field = "",
) -> Response:
    form = _team_fields(name, display_name, description, chat_channel, email, members)
    return _save_team(request, db, active, form, None)


@router.post("/teams/{name}/edit", response_class=HTMLResponse)
def update_team(
    request: Request,
    name: str,
    db: DB,
    active: Annotated[ActiveSession, _write("team")],
    display_name: Field = "",
    description: Field = "",
    chat_channel: Field = "",
    email: Field = "",
    members: Field = "",
) -> Response:
    form = _team_fields(name, display_name, description, chat_channel, email, members)
    return _save_team(request, db, active, form, name)
