"""Service catalog use-cases: implicit creation, lookups other domains route by, and writes.

Every write is audited. Machine sources (SLO specs, alert labels, CI deployments) create
services implicitly with :func:`ensure_services`; what a person types is checked against the
catalog with :func:`require_service`, so a typo never creates a service. Deleting a service
and its budget state ask the SLO domain and live in :mod:`opsloop.services.usage`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.errors import Conflict, NotFound, ValidationFailed
from opsloop.services.entries import Link, ServiceEntry, service_problems
from opsloop.services.models import Service, Team
from opsloop.services.vocabulary import Lifecycle, Origin, name_problem, new_name_problem

Outcome = Literal["created", "updated", "unchanged"]
#: Who may write services (teams need more: opsloop.services.teams.WRITE_ROLE).
WRITE_ROLE = Role.responder


@dataclass(frozen=True)
class ServiceFacts:
    """What routing needs of a service (notifications by team and tier)."""

    name: str
    display_name: str
    owner_team: str | None
    tier: int | None
    lifecycle: str


@dataclass(frozen=True)
class ServiceView:
    id: int
    name: str
    display_name: str
    description: str
    owner_team: str | None
    tier: int | None
    lifecycle: str
    links: tuple[Link, ...]
    labels: dict[str, str]
    origin: str
    origin_source: str
    created_at: datetime
    updated_at: datetime

    @property
    def facts(self) -> ServiceFacts:
        return ServiceFacts(
            self.name, self.display_name, self.owner_team, self.tier, self.lifecycle
        )

    def fields(self) -> dict[str, Any]:
        """What the audit trail records (and what an entry's ``values()`` compare with)."""
        return {
            "display_name": self.display_name,
            "description": self.description,
            "owner_team": self.owner_team,
            "tier": self.tier,
            "lifecycle": self.lifecycle,
            "links": [{"name": link.name, "url": link.url} for link in self.links],
            "labels": dict(sorted(self.labels.items())),
        }


@dataclass(frozen=True)
class ServiceFilter:
    team: str | None = None
    tier: int | None = None
    lifecycle: str | None = None
    q: str | None = None
    unowned: bool = False


def _view(row: Service, team: str | None) -> ServiceView:
    return ServiceView(
        id=row.id,
        name=row.name,
        display_name=row.display_name,
        description=row.description,
        owner_team=team,
        tier=row.tier,
        lifecycle=row.lifecycle.value,
        links=tuple(Link(**link) for link in json.loads(row.links)),
        labels=json.loads(row.labels),
        origin=row.origin.value,
        origin_source=row.origin_source,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _joined() -> Select[Service, str]:
    return select(Service, Team.name).outerjoin(Team, Service.owner_team_id == Team.id)


def ensure_services(
    session: Session, names: Iterable[str], *, source: str, principal: Principal
) -> list[str]:
    """Create, unowned and marked implicit, every named service the catalog lacks; returns
    the names created (sorted). Call it in the transaction that names them."""
    wanted = sorted(set(names))
    if not wanted:
        return []
    known = set(session.scalars(select(Service.name).where(Service.name.in_(wanted))))
    created = [name for name in wanted if name not in known]
    now = clock.now()
    for name in created:
        if problem := name_problem(name):
            raise ValidationFailed(f"service {name!r}: {problem}", field="service")
        row = Service(
            name=name,
            display_name="",
            description="",
            owner_team_id=None,
            tier=None,
            lifecycle=Lifecycle.production,
            links="[]",
            labels="{}",
            origin=Origin.implicit,
            origin_source=source,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            principal=principal,
            action="service.create",
            entity_type="service",
            entity_id=name,
            after={"origin": Origin.implicit.value, "source": source},
        )
    return created


def routing_facts(session: Session, names: Collection[str]) -> dict[str, ServiceFacts]:
    """The facts of each named service in the catalog (names it lacks are left out)."""
    if not names:
        return {}
    rows = session.execute(_joined().where(Service.name.in_(sorted(set(names)))))
    return {row.name: _view(row, team).facts for row, team in rows}


def require_service(session: Session, name: str, *, field: str = "service") -> ServiceFacts:
    """A service a person named: it must be in the catalog (422 naming ``field``)."""
    found = routing_facts(session, [name]).get(name)
    if found is None:
        raise ValidationFailed(
            f"no service {name!r} in the catalog; pick an existing one or create it first",
            field=field,
        )
    return found


def find_service(session: Session, *, name: str) -> ServiceView | None:
    found = session.execute(_joined().where(Service.name == name)).first()
    return None if found is None else _view(found[0], found[1])


def get_service(session: Session, *, name: str) -> ServiceView:
    found = find_service(session, name=name)
    if found is None:
        raise NotFound(f"no service {name!r}", field="service")
    return found


def conditions(flt: ServiceFilter) -> list[ColumnElement[bool]]:
    """The filter as WHERE conditions on services joined with their owner team."""
    found: list[ColumnElement[bool]] = []
    if flt.team:
        found.append(Team.name == flt.team)
    if flt.unowned:
        found.append(Service.owner_team_id.is_(None))
    if flt.tier is not None:
        found.append(Service.tier == flt.tier)
    if flt.lifecycle:
        found.append(Service.lifecycle == flt.lifecycle)
    if flt.q:
        needle = flt.q.lower()
        columns = (Service.name, Service.display_name, Service.description)
        found.append(or_(*(func.lower(c).contains(needle, autoescape=True) for c in columns)))
    return found


def list_services(
    session: Session,
    *,
    flt: ServiceFilter | None = None,
    after_id: int | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> list[ServiceView]:
    """Services in id order (the API's cursor) or, with ``offset``, in name order (pages)."""
    query = _joined().where(*conditions(flt or ServiceFilter()))
    if offset is not None:
        query = query.order_by(Service.name).offset(offset)
    else:
        query = query.order_by(Service.id)
    if after_id is not None:
        query = query.where(Service.id > after_id)
    return [_view(row, team) for row, team in session.execute(query.limit(limit))]


def service_names(session: Session) -> list[str]:
    """Every service's name, in name order: what the pages' service menus show, read without
    building a view of each service (0.2 ms instead of 2.5 ms for 100 on SQLite)."""
    return list(session.scalars(select(Service.name).order_by(Service.name)))


def count_services(session: Session, *, flt: ServiceFilter | None = None) -> int:
    query = (
        select(func.count())
        .select_from(Service)
        .outerjoin(Team, Service.owner_team_id == Team.id)
        .where(*conditions(flt or ServiceFilter()))
    )
    return int(session.scalar(query) or 0)


def services_owned_by(session: Session, *, team: str) -> list[str]:
    query = select(Service.name).join(Team, Service.owner_team_id == Team.id)
    return list(session.scalars(query.where(Team.name == team).order_by(Service.name)))


def owner_teams(session: Session) -> dict[str, str]:
    """Service -> its owner team, for every service that has one."""
    query = select(Service.name, Team.name).join(Team, Service.owner_team_id == Team.id)
    return {service: team for service, team in session.execute(query)}


def checked(entry: ServiceEntry) -> ServiceEntry:
    """``entry``, or ValidationFailed naming its first bad field."""
    problems = service_problems(entry)
    if problems:
        field, reason = problems[0]
        raise ValidationFailed(f"{field}: {reason}", field=field)
    return entry


def _team_id(session: Session, team: str | None) -> int | None:
    if team is None:
        return None
    found = session.scalar(select(Team.id).where(Team.name == team))
    if found is None:
        raise ValidationFailed(
            f"no team {team!r}; create it first or leave the service unowned", field="owner_team"
        )
    return found


def _store(session: Session, row: Service, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "owner_team":
            row.owner_team_id = _team_id(session, value)
        elif key == "lifecycle":
            row.lifecycle = Lifecycle(value)
        elif key in ("links", "labels"):
            setattr(row, key, json.dumps(value))
        else:
            setattr(row, key, value)


def create_service(
    session: Session, *, principal: Principal, entry: ServiceEntry, source: str = ""
) -> ServiceView:
    """A new explicit service; its name must be free."""
    require(principal, WRITE_ROLE)
    checked(entry)
    if find_service(session, name=entry.name) is not None:
        raise Conflict(f"service {entry.name!r} exists already", field="name")
    put_service(session, principal=principal, entry=entry, source=source)
    return get_service(session, name=entry.name)


def put_service(
    session: Session, *, principal: Principal, entry: ServiceEntry, source: str = ""
) -> Outcome:
    """Create the service or bring its set fields to ``entry``'s; unchanged writes nothing.

    An implicit service that changes here becomes explicit: a person has described it."""
    require(principal, WRITE_ROLE)
    checked(entry)
    current = find_service(session, name=entry.name)
    wanted = entry.values()
    if current is None and (problem := new_name_problem(entry.name)):
        raise ValidationFailed(f"name: {problem}", field="name")
    if current is None:
        now = clock.now()
        row = Service(
            name=entry.name,
            display_name="",
            description="",
            lifecycle=Lifecycle.production,
            links="[]",
            labels="{}",
            origin=Origin.explicit,
            origin_source=source,
            created_at=now,
            updated_at=now,
        )
        _store(session, row, wanted)
        session.add(row)
        session.flush()
        after = {**get_service(session, name=entry.name).fields(), "origin": "explicit"}
        audit.record(
            session,
            principal=principal,
            action="service.create",
            entity_type="service",
            entity_id=entry.name,
            after=after,
        )
        return "created"
    before = current.fields()
    if all(before[key] == value for key, value in wanted.items()):
        return "unchanged"
    row = session.get_one(Service, current.id)
    _store(session, row, wanted)
    row.origin, row.updated_at = Origin.explicit, clock.now()
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="service.update",
        entity_type="service",
        entity_id=entry.name,
        before=before,
        after=get_service(session, name=entry.name).fields(),
    )
    return "updated"


def update_service(
    session: Session, *, principal: Principal, name: str, changes: dict[str, Any]
) -> ServiceView:
    """Change some fields of a service (a PATCH): the others keep their values."""
    current = get_service(session, name=name)
    values = {**current.fields(), **changes}
    entry = ServiceEntry(
        name=name,
        display_name=values["display_name"],
        description=values["description"],
        owner_team=values["owner_team"],
        tier=values["tier"],
        lifecycle=values["lifecycle"],
        links=tuple(Link(**link) for link in values["links"]),
        labels=values["labels"],
        fields=frozenset(changes),
    )
    put_service(session, principal=principal, entry=entry)
    return get_service(session, name=name)


def remove_service(session: Session, *, principal: Principal, name: str) -> None:
    """Delete a catalog entry; callers check first that nothing uses it (usage.delete_service)."""
    require(principal, WRITE_ROLE)
    current = get_service(session, name=name)
    audit.record(
        session,
        principal=principal,
        action="service.delete",
        entity_type="service",
        entity_id=name,
        before=current.fields(),
    )
    session.delete(session.get_one(Service, current.id))
