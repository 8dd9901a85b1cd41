"""The incident API under /api/v1/incidents and /api/v1/incident-templates: thin, it parses,
calls the incident services and shapes the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection
from starlette.convertors import StringConvertor, register_url_convertor

from opsloop.core.counters import Dated, serve_kept_until
from opsloop.core.deps import Approver, ReadSession, Responder, Viewer, WriteSession
from opsloop.core.schemas import (
    AUTHENTICATED,
    PLAIN_PATTERN,
    WITH_BODY,
    Page,
    PageQuery,
    Timestamp,
    errors,
    plain_params,
)
from opsloop.incidents import api_json, lifecycle
from opsloop.incidents import service as incidents
from opsloop.incidents.deps import Targets
from opsloop.incidents.listing import GENERATION
from opsloop.incidents.resolution import ResolutionRecord
from opsloop.incidents.rules import Status, parse_severity
from opsloop.incidents.schemas import (
    EventIn,
    EventOut,
    IncidentCreate,
    IncidentOut,
    IncidentPatch,
    IncidentRow,
    StatusIn,
    TemplateOut,
    TemplatesIn,
    TemplatesOut,
    UpdateIn,
)
from opsloop.incidents.update_templates import PLACEHOLDERS
from opsloop.incidents.vocabulary import Audience, parse_choice

router = APIRouter(
    prefix="/api/v1",
    tags=["Incidents"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
KeyPath = Annotated[str, Path(max_length=16, pattern=PLAIN_PATTERN, description="INC-YYYY-NNN")]


class IncidentKeyConvertor(StringConvertor):
    """An incident key in a path, never /incidents/import (opsloop.incidents.csv_import_api):
    without this, that path would also match /incidents/{key} and OPTIONS would list GET and
    PATCH for it."""

    regex = "(?!import$)[^/]+"


register_url_convertor("incident_key", IncidentKeyConvertor())
NOT_FOUND = errors(404)
WRITE = {**WITH_BODY, **errors(404, 409)}


@router.post(
    "/incidents",
    response_model=IncidentOut,
    status_code=status.HTTP_201_CREATED,
    responses=WITH_BODY,
)
def declare(
    body: IncidentCreate, principal: Responder, session: WriteSession, targets: Targets
) -> IncidentOut:
    """Declare an incident: it starts investigating with the year's next key."""
    values = body.model_dump(exclude={"severity"})
    found = incidents.declare(
        session,
        principal=principal,
        severity=parse_severity(body.severity),
        targets=targets,
        **values,
    )
    return IncidentOut.of(found, targets)


@router.get(
    "/incidents",
    response_class=JSONResponse,
    responses={200: {"model": Page[IncidentRow], "description": "a page of incidents"}},
)
async def list_incidents(
    request: Request,
    _: Viewer,
    paging: PageQuery,
    targets: Targets,
    status: Annotated[
        str | None,
        Query(max_length=16, pattern=PLAIN_PATTERN, description="a status, or open"),
    ] = None,
    severity: Annotated[str | None, Query(max_length=8, pattern=PLAIN_PATTERN)] = None,
    service: Annotated[str | None, Query(max_length=63, pattern=PLAIN_PATTERN)] = None,
    team: Annotated[
        str | None,
        Query(max_length=63, pattern=PLAIN_PATTERN, description="services the team owns"),
    ] = None,
    since: Annotated[Timestamp | None, Query(description="started at or after")] = None,
    until: Annotated[Timestamp | None, Query(description="started before")] = None,
) -> Response:
    """A page of incidents, newest first."""
    flt = incidents.IncidentFilter(
        status=parse_choice(Status, status, "status") if status and status != "open" else None,
        open_only=status == "open",
        severity=parse_severity(severity) if severity else None,
        service=service,
        team=team,
        since=since,
        until=until,
    )

    def page(conn: Connection) -> Dated:
        return api_json.page_json_until(
            conn, flt, before_id=paging.after, limit=paging.limit, targets=targets
        )

    # Kept per filter and page until an incident (or what the filter reads) changes, or a
    # shown response state or update due turns; the targets are the deployment's settings.
    key = ("api/incidents", flt, paging.after, paging.limit, tuple(targets.items()))
    body = await serve_kept_until(request, GENERATION, key, page)
    return Response(body, media_type="application/json")


@router.get("/incidents/{key:incident_key}", response_model=IncidentOut, responses=NOT_FOUND)
def get_incident(key: KeyPath, _: Viewer, session: ReadSession, targets: Targets) -> IncidentOut:
    return IncidentOut.of(incidents.get_incident(session, key=key, targets=targets), targets)


@router.patch("/incidents/{key:incident_key}", response_model=IncidentOut, responses=WRITE)
def update_incident(
    key: KeyPath, body: IncidentPatch, principal: Responder, session: WriteSession, targets: Targets
) -> IncidentOut:
    """Edit fields; each change is audited and lands on the timeline with before and after."""
    found = incidents.update_incident(
        session, principal=principal, key=key, changes=body.changes(), targets=targets
    )
    return IncidentOut.of(found, targets)


@router.post("/incidents/{key}/status", response_model=IncidentOut, responses=WRITE)
def change_status(
    key: KeyPath, body: StatusIn, principal: Responder, session: WriteSession, targets: Targets
) -> IncidentOut:
    """Move forward (skipping is allowed) or reopen a resolved or closed incident; other
    moves back answer 409."""
    found = lifecycle.change_status(
        session, principal=principal, key=key, status=body.status, note=body.note, targets=targets
    )
    return IncidentOut.of(found, targets)


@router.post(
    "/incidents/{key}/acknowledge",
    response_model=IncidentOut,
    responses={**NOT_FOUND, **errors(409)},
)
def acknowledge(
    key: KeyPath, principal: Responder, session: WriteSession, targets: Targets
) -> IncidentOut:
    """Record that someone responds; the response target is measured to this moment."""
    found = lifecycle.acknowledge(session, principal=principal, key=key, targets=targets)
    return IncidentOut.of(found, targets)


@router.post(
    "/incidents/{key}/timeline",
    response_model=EventOut,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE,
)
def add_event(key: KeyPath, body: EventIn, principal: Responder, session: WriteSession) -> EventOut:
    event = lifecycle.add_event(
        session, principal=principal, key=key, kind=body.kind, text=body.text, at=body.at
    )
    return EventOut.of(event)


@router.get("/incidents/{key}/timeline", response_model=list[EventOut], responses=NOT_FOUND)
def get_timeline(key: KeyPath, _: Viewer, session: ReadSession) -> list[EventOut]:
    """Every event in time order, automatic entries with the change they record."""
    return [EventOut.of(e) for e in lifecycle.timeline_of(session, key=key)]


@router.post(
    "/incidents/{key}/updates",
    response_model=EventOut,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE,
)
def post_update(
    key: KeyPath, body: UpdateIn, principal: Responder, session: WriteSession, targets: Targets
) -> EventOut:
    """A status update: its text, or a template filled in with the incident's fields."""
    event = lifecycle.post_update(
        session,
        principal=principal,
        key=key,
        audience=body.audience,
        text=body.text,
        template=body.template,
        next_update_at=body.next_update_at,
        targets=targets,
    )
    return EventOut.of(event)


@router.put("/incidents/{key}/resolution", response_model=IncidentOut, responses=WRITE)
def set_resolution(
    key: KeyPath,
    body: ResolutionRecord,
    principal: Responder,
    session: WriteSession,
    targets: Targets,
) -> IncidentOut:
    """Replace the resolution record (detection, diagnosis, fix, verification, follow-up)."""
    found = lifecycle.set_resolution(
        session, principal=principal, key=key, record=body, targets=targets
    )
    return IncidentOut.of(found, targets)


@router.get("/incident-templates", response_model=TemplatesOut)
def get_templates(_: Viewer, session: ReadSession) -> TemplatesOut:
    """The status-update templates (shipped wording unless customised)."""
    return TemplatesOut(
        templates=[TemplateOut.of(t) for t in lifecycle.list_templates(session)],
        placeholders=dict(PLACEHOLDERS),
    )


@router.put("/incident-templates", response_model=TemplatesOut, responses=WITH_BODY)
def put_templates(body: TemplatesIn, principal: Approver, session: WriteSession) -> TemplatesOut:
    """Set the listed templates; a null body restores the shipped wording."""
    found = lifecycle.put_templates(
        session,
        principal=principal,
        templates=[(t.name, Audience(t.audience), t.body) for t in body.templates],
    )
    return TemplatesOut(
        templates=[TemplateOut.of(t) for t in found], placeholders=dict(PLACEHOLDERS)
    )
