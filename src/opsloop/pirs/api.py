"""The review API under /api/v1/incidents/{key}/pir, /api/v1/pirs and the compliance view
under /api/v1/compliance/incidents: thin, it parses, calls the review services and shapes
the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from opsloop.core.deps import ReadSession, Responder, Viewer, WriteSession
from opsloop.core.schemas import (
    AUTHENTICATED,
    PLAIN_PATTERN,
    WITH_BODY,
    Page,
    PageQuery,
    errors,
    page_of,
    plain_params,
)
from opsloop.incidents.deps import Targets
from opsloop.pirs import compliance, reading, render
from opsloop.pirs import service as pirs
from opsloop.pirs.content import ReviewMeeting
from opsloop.pirs.deps import PolicyDep
from opsloop.pirs.rules import parse_state, parse_window
from opsloop.pirs.schemas import (
    ComplianceOut,
    PirOut,
    PirPatch,
    PirRow,
    RevisionOut,
    StateIn,
    TimelineIn,
)

router = APIRouter(
    prefix="/api/v1",
    tags=["Post-incident reviews"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
KeyPath = Annotated[str, Path(max_length=16, pattern=PLAIN_PATTERN, description="INC-YYYY-NNN")]
PIR = "/incidents/{key}/pir"
NOT_FOUND = errors(404)
WRITE = {**WITH_BODY, **errors(404, 409)}


@router.post(PIR, response_model=PirOut, status_code=status.HTTP_201_CREATED, responses=WRITE)
def create_pir(
    key: KeyPath, principal: Responder, session: WriteSession, policy: PolicyDep
) -> PirOut:
    """Start the incident's review as a draft, prefilled from the incident (409 if it has one)."""
    return PirOut.of(pirs.create_pir(session, principal=principal, key=key, policy=policy))


@router.get(PIR, response_model=PirOut, responses=NOT_FOUND)
def get_pir(key: KeyPath, _: Viewer, session: ReadSession, policy: PolicyDep) -> PirOut:
    return PirOut.of(pirs.get_pir(session, key=key, policy=policy))


@router.patch(PIR, response_model=PirOut, responses=WRITE)
def update_pir(
    key: KeyPath, body: PirPatch, principal: Responder, session: WriteSession, policy: PolicyDep
) -> PirOut:
    """Replace the sections sent. Editing a published review opens its next revision as a
    draft; the published revision stays readable under /revisions."""
    found = pirs.update_pir(
        session, principal=principal, key=key, changes=body.changes(), policy=policy
    )
    return PirOut.of(found)


@router.post(f"{PIR}/state", response_model=PirOut, responses=WRITE)
def move_pir(
    key: KeyPath, body: StateIn, principal: Responder, session: WriteSession, policy: PolicyDep
) -> PirOut:
    """draft -> in_review -> published; any other move answers 409."""
    found = pirs.move_pir(
        session, principal=principal, key=key, state=parse_state(body.state), policy=policy
    )
    return PirOut.of(found)


@router.post(
    f"{PIR}/timeline", response_model=PirOut, status_code=status.HTTP_201_CREATED, responses=WRITE
)
def add_timeline_entry(
    key: KeyPath, body: TimelineIn, principal: Responder, session: WriteSession, policy: PolicyDep
) -> PirOut:
    """An entry on the review's timeline; the incident's own timeline is not changed."""
    found = pirs.add_timeline_entry(
        session,
        principal=principal,
        key=key,
        text=body.text,
        at=body.at,
        kind=body.kind,
        policy=policy,
    )
    return PirOut.of(found)


@router.put(f"{PIR}/review-meeting", response_model=PirOut, responses=WRITE)
def schedule_review(
    key: KeyPath,
    body: ReviewMeeting,
    principal: Responder,
    session: WriteSession,
    policy: PolicyDep,
) -> PirOut:
    """Set the review meeting: time, attendees (opsloop users), notes, agreed action items."""
    found = pirs.schedule_review(session, principal=principal, key=key, meeting=body, policy=policy)
    return PirOut.of(found)


@router.get(f"{PIR}/revisions", response_model=list[RevisionOut], responses=NOT_FOUND)
def list_revisions(
    key: KeyPath, _: Viewer, session: ReadSession, policy: PolicyDep
) -> list[RevisionOut]:
    """Every published revision, oldest first, as it was published."""
    return [RevisionOut.of(r) for r in reading.revisions(session, key=key, policy=policy)]


@router.get(f"{PIR}/revisions/{{number}}", response_model=RevisionOut, responses=NOT_FOUND)
def get_revision(
    key: KeyPath,
    number: Annotated[int, Path(ge=1, le=1_000_000)],
    _: Viewer,
    session: ReadSession,
    policy: PolicyDep,
) -> RevisionOut:
    return RevisionOut.of(reading.revision(session, key=key, number=number, policy=policy))


@router.get(
    f"{PIR}/report",
    responses={
        **NOT_FOUND,
        200: {
            "content": {"text/markdown": {}, "text/html": {}, "application/pdf": {}},
            "description": "the review rendered",
        },
    },
)
def report(
    key: KeyPath,
    _: Viewer,
    session: ReadSession,
    policy: PolicyDep,
    format: Annotated[str, Query(pattern="^(md|html|pdf)$", description="md, html or pdf")] = "md",
    revision: Annotated[
        int | None, Query(ge=1, le=1_000_000, description="a published one")
    ] = None,
) -> Response:
    """The review (or a published revision) as Markdown, HTML or PDF."""
    doc = reading.document(session, key=key, number=revision, policy=policy)
    body = render.render(doc, format)
    name = f"{doc.incident.key}-pir-r{doc.revision}.{format}"
    return Response(
        body,
        media_type=render.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.get("/pirs", response_model=Page[PirRow])
def list_pirs(
    _: Viewer,
    session: ReadSession,
    paging: PageQuery,
    policy: PolicyDep,
    state: Annotated[str | None, Query(max_length=16, pattern=PLAIN_PATTERN)] = None,
    overdue: Annotated[bool | None, Query(description="past the deadline unpublished")] = None,
) -> Page[PirRow]:
    """A page of reviews, newest first."""
    rows = reading.list_pirs(
        session,
        state=parse_state(state) if state else None,
        overdue=overdue,
        before_id=paging.after,
        limit=paging.limit + 1,
        policy=policy,
    )
    page = page_of(rows, lambda p: p.id, paging, descending=True)
    return Page(items=[PirRow.of(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/compliance/incidents", response_model=ComplianceOut)
def incident_compliance(
    _: Viewer,
    session: ReadSession,
    policy: PolicyDep,
    targets: Targets,
    since: Annotated[
        str, Query(max_length=8, pattern=PLAIN_PATTERN, description="a window: 30d, 12h, 2w")
    ] = "30d",
) -> ComplianceOut:
    """Over the incidents started in the window: required reviews past their deadline and not
    published (or missing), and incidents acknowledged after their response target (or still
    unacknowledged past it). ``compliant`` is false when either list has anything."""
    window = parse_window(since)
    report = compliance.incident_compliance(session, window=window, policy=policy, targets=targets)
    return ComplianceOut.of(report)
