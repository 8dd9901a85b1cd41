"""Team use-cases: teams, their members and contact. Every write is audited.

Teams are written by approvers: who owns a service decides who is paged for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.errors import Conflict, NotFound, ValidationFailed
from opsloop.services.entries import TeamEntry, team_problems
from opsloop.services.models import Team, TeamMember
from opsloop.services.service import Outcome, services_owned_by
from opsloop.services.vocabulary import Origin, TeamRole, name_problem

WRITE_ROLE = Role.approver


@dataclass(frozen=True)
class TeamView:
    id: int
    name: str
    display_name: str
    description: str
    chat_channel: str
    email: str
    #: username -> role, leads first then by name
    members: dict[str, str]
    origin: str
    origin_source: str
    created_at: datetime
    updated_at: datetime

    def fields(self) -> dict[str, Any]:
        return {
            "display_name": self.display_name,
            "description": self.description,
            "chat_channel": self.chat_channel,
            "email": self.email,
            "members": dict(sorted(self.members.items())),
        }


def _members(session: Session, team_ids: list[int]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {team_id: {} for team_id in team_ids}
    if not team_ids:
        return found
    query = select(TeamMember).where(TeamMember.team_id.in_(team_ids))
    ordered = sorted(session.scalars(query), key=lambda m: (m.role != TeamRole.lead, m.username))
    for member in ordered:
        found[member.team_id][member.username] = member.role.value
    return found


def _view(row: Team, members: dict[str, str]) -> TeamView:
    return TeamView(
        id=row.id,
        name=row.name,
        display_name=row.display_name,
        description=row.description,
        chat_channel=row.chat_channel,
        email=row.email,
        members=members,
        origin=row.origin.value,
        origin_source=row.origin_source,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def find_team(session: Session, *, name: str) -> TeamView | None:
    row = session.scalar(select(Team).where(Team.name == name))
    return None if row is None else _view(row, _members(session, [row.id])[row.id])


def get_team(session: Session, *, name: str) -> TeamView:
    found = find_team(session, name=name)
    if found is None:
        raise NotFound(f"no team {name!r}", field="team")
    return found


def list_teams(
    session: Session, *, after_id: int | None = None, limit: int | None = None
) -> list[TeamView]:
    """Teams in id order; the API reads a page (``limit`` after ``after_id``), the rest all."""
    query = select(Team).order_by(Team.id).limit(limit)
    if after_id is not None:
        query = query.where(Team.id > after_id)
    rows = list(session.scalars(query))
    members = _members(session, [row.id for row in rows])
    return [_view(row, members[row.id]) for row in rows]


def team_names(session: Session) -> list[str]:
    return list(session.scalars(select(Team.name).order_by(Team.name)))


def checked(entry: TeamEntry) -> TeamEntry:
    problems = team_problems(entry)
    if problems:
        field, reason = problems[0]
        raise ValidationFailed(f"{field}: {reason}", field=field)
    return entry


def _check_users(session: Session, usernames: list[str]) -> None:
    for username in usernames:
        try:
            auth.get_user(session, username=username)
        except NotFound:
            raise ValidationFailed(
                f"members: no opsloop user named {username!r}", field="members"
            ) from None


def _set_members(session: Session, team_id: int, members: dict[str, str]) -> None:
    current = {
        m.username: m
        for m in session.scalars(select(TeamMember).where(TeamMember.team_id == team_id))
    }
    for username, member in current.items():
        if username not in members:
            session.delete(member)
    for username, role in members.items():
        if username in current:
            current[username].role = TeamRole(role)
        else:
            session.add(TeamMember(team_id=team_id, username=username, role=TeamRole(role)))
    session.flush()


def put_team(
    session: Session,
    *,
    principal: Principal,
    entry: TeamEntry,
    source: str = "",
    origin: Origin = Origin.explicit,
) -> Outcome:
    """Create the team or bring its set fields to ``entry``'s; unchanged writes nothing."""
    if origin is Origin.explicit:
        auth.require(principal, WRITE_ROLE)
    checked(entry)
    wanted = entry.values()
    if "members" in wanted:
        _check_users(session, list(wanted["members"]))
    current = find_team(session, name=entry.name)
    now = clock.now()
    if current is None:
        row = Team(
            name=entry.name,
            display_name=entry.display_name,
            description=entry.description,
            chat_channel=entry.chat_channel,
            email=entry.email,
            origin=origin,
            origin_source=source,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        _set_members(session, row.id, wanted.get("members", {}))
        after = {**get_team(session, name=entry.name).fields(), "origin": origin.value}
        if source:
            after["source"] = source
        audit.record(
            session,
            principal=principal,
            action="team.create",
            entity_type="team",
            entity_id=entry.name,
            after=after,
        )
        return "created"
    before = current.fields()
    if all(before[key] == value for key, value in wanted.items()):
        return "unchanged"
    auth.require(principal, WRITE_ROLE)
    row = session.get_one(Team, current.id)
    for key, value in wanted.items():
        if key == "members":
            _set_members(session, row.id, value)
        else:
            setattr(row, key, value)
    row.origin, row.updated_at = Origin.explicit, now
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="team.update",
        entity_type="team",
        entity_id=entry.name,
        before=before,
        after=get_team(session, name=entry.name).fields(),
    )
    return "updated"


def ensure_team(session: Session, *, principal: Principal, name: str, source: str) -> bool:
    """An owner named before its team was described: the team is created implicitly, empty."""
    if problem := name_problem(name):
        raise ValidationFailed(f"owner team {name!r}: {problem}", field="owner_team")
    if find_team(session, name=name) is not None:
        return False
    put_team(
        session,
        principal=principal,
        entry=TeamEntry(name=name),
        source=source,
        origin=Origin.implicit,
    )
    return True


def create_team(session: Session, *, principal: Principal, entry: TeamEntry) -> TeamView:
    auth.require(principal, WRITE_ROLE)
    checked(entry)
    if find_team(session, name=entry.name) is not None:
        raise Conflict(f"team {entry.name!r} exists already", field="name")
    put_team(session, principal=principal, entry=entry)
    return get_team(session, name=entry.name)


def update_team(
    session: Session, *, principal: Principal, name: str, changes: dict[str, Any]
) -> TeamView:
    current = get_team(session, name=name)
    values = {**current.fields(), **changes}
    entry = TeamEntry(name=name, **values, fields=frozenset(changes))
    put_team(session, principal=principal, entry=entry)
    return get_team(session, name=name)


def set_member(
    session: Session, *, principal: Principal, team: str, username: str, role: str
) -> TeamView:
    """Add a member, or change the role of one."""
    if role not in TeamRole.__members__:
        raise ValidationFailed("role must be lead or member", field="role")
    try:
        auth.get_user(session, username=username)
    except NotFound:
        raise ValidationFailed(f"no opsloop user named {username!r}", field="username") from None
    members = {**get_team(session, name=team).members, username: role}
    return update_team(session, principal=principal, name=team, changes={"members": members})


def remove_member(session: Session, *, principal: Principal, team: str, username: str) -> TeamView:
    members = dict(get_team(session, name=team).members)
    if username not in members:
        raise NotFound(f"{username!r} is not a member of team {team!r}", field="username")
    del members[username]
    return update_team(session, principal=principal, name=team, changes={"members": members})


def delete_team(session: Session, *, principal: Principal, name: str) -> None:
    """Refused (409, listing them) while the team owns services."""
    auth.require(principal, WRITE_ROLE)
    current = get_team(session, name=name)
    owned = services_owned_by(session, team=name)
    if owned:
        raise Conflict(
            f"team {name!r} owns services {', '.join(owned)}; give them another owner first",
            field="team",
        )
    audit.record(
        session,
        principal=principal,
        action="team.delete",
        entity_type="team",
        entity_id=name,
        before=current.fields(),
    )
    session.delete(session.get_one(Team, current.id))
