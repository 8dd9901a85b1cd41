"""The teams API under /api/v1/teams: approvers write, everyone reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from opsloop.core.deps import Approver, ReadSession, Viewer, WriteSession
from opsloop.core.schemas import (
    AUTHENTICATED,
    WITH_BODY,
    Page,
    PageQuery,
    errors,
    page_of,
    plain_params,
)
from opsloop.services import service as catalog
from opsloop.services import teams
from opsloop.services.entries import TeamEntry
from opsloop.services.schemas import MemberIn, TeamCreate, TeamOut, TeamPatch
from opsloop.services.teams import TeamView
from opsloop.slo.schemas import DNS_LABEL

router = APIRouter(
    prefix="/api/v1",
    tags=["Teams"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
TeamPath = Annotated[str, Path(max_length=63, pattern=DNS_LABEL)]
NOT_FOUND = errors(404)


def _out(session: Session, view: TeamView) -> TeamOut:
    return TeamOut.of(view, catalog.services_owned_by(session, team=view.name))


@router.get("/teams", response_model=Page[TeamOut])
def list_teams(_: Viewer, session: ReadSession, paging: PageQuery) -> Page[TeamOut]:
    """A page of teams in id order."""
    rows = teams.list_teams(session, after_id=paging.after, limit=paging.limit + 1)
    page = page_of(rows, lambda t: t.id, paging)
    return Page(items=[_out(session, t) for t in page.items], next_cursor=page.next_cursor)


@router.post(
    "/teams",
    response_model=TeamOut,
    status_code=status.HTTP_201_CREATED,
    responses={**WITH_BODY, **errors(409)},
)
def create_team(body: TeamCreate, principal: Approver, session: WriteSession) -> TeamOut:
    entry = TeamEntry(
        name=body.name,
        display_name=body.display_name,
        description=body.description,
        chat_channel=body.chat_channel,
        email=body.email,
        members={m.username: m.role.value for m in body.members},
    )
    return _out(session, teams.create_team(session, principal=principal, entry=entry))


@router.get("/teams/{team}", response_model=TeamOut, responses=NOT_FOUND)
def get_team(team: TeamPath, _: Viewer, session: ReadSession) -> TeamOut:
    return _out(session, teams.get_team(session, name=team))


@router.patch("/teams/{team}", response_model=TeamOut, responses={**WITH_BODY, **NOT_FOUND})
def update_team(
    team: TeamPath, body: TeamPatch, principal: Approver, session: WriteSession
) -> TeamOut:
    view = teams.update_team(session, principal=principal, name=team, changes=body.changes())
    return _out(session, view)


@router.delete(
    "/teams/{team}", status_code=status.HTTP_204_NO_CONTENT, responses={**NOT_FOUND, **errors(409)}
)
def delete_team(team: TeamPath, principal: Approver, session: WriteSession) -> Response:
    """Refused (409, listing them) while the team owns services."""
    teams.delete_team(session, principal=principal, name=team)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/teams/{team}/members", response_model=TeamOut, responses={**WITH_BODY, **NOT_FOUND})
def add_member(
    team: TeamPath, body: MemberIn, principal: Approver, session: WriteSession
) -> TeamOut:
    """Add a member, or change a member's role."""
    view = teams.set_member(
        session, principal=principal, team=team, username=body.username, role=body.role.value
    )
    return _out(session, view)


@router.delete("/teams/{team}/members/{username}", response_model=TeamOut, responses=NOT_FOUND)
def remove_member(
    team: TeamPath,
    username: Annotated[str, Path(max_length=64)],
    principal: Approver,
    session: WriteSession,
) -> TeamOut:
    view = teams.remove_member(session, principal=principal, team=team, username=username)
    return _out(session, view)
