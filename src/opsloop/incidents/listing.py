"""The incident list's rows read as plain rows: the columns a list shows and each incident's
services, no ORM object. The API writes them as JSON (:mod:`opsloop.incidents.api_json`), the
list page shows them (:func:`listed`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from opsloop.incidents import service as incidents
from opsloop.incidents import views
from opsloop.incidents.models import Incident, IncidentService
from opsloop.incidents.rules import Severity, Status
from opsloop.incidents.views import ResponseState, is_update_overdue, response_of

#: The counter that moves with every write to what the list shows or its filters read
#: (migration 0022): incidents, their services, the catalog's services and teams.
GENERATION = "incidents"
_I, _S = Incident.__table__.c, IncidentService.__table__.c
_COLUMNS = (
    _I.id,
    _I.key,
    _I.title,
    _I.severity,
    _I.status,
    _I.commander,
    _I.started_at,
    _I.declared_at,
    _I.acknowledged_at,
    _I.resolved_at,
    _I.next_update_at,
)


def _services(conn: Connection) -> Any:
    """Each incident's services as one array: PostgreSQL hands it over as a list, SQLite as
    JSON text. Either keeps names intact whatever characters they hold."""
    postgres = conn.dialect.name == "postgresql"
    names = func.array_agg(_S.service) if postgres else func.json_group_array(_S.service)
    return select(names).where(_S.incident_id == _I.id).scalar_subquery().label("services")


def page_rows(
    conn: Connection,
    flt: incidents.IncidentFilter,
    *,
    before_id: int | None = None,
    limit: int,
    offset: int | None = None,
) -> list[Row[Any]]:
    """Up to ``limit`` incidents newest first (by id) before ``before_id``, as plain rows with
    their services."""
    # The filter reads the catalog only for a team; a session bound to the connection opens
    # nothing until then.
    with Session(bind=conn) as session:
        conditions = incidents.conditions(session, flt)
    # The services grouped per incident inside the page's own query: a second query of the
    # page's ids (an IN list SQLAlchemy renders afresh each time) cost three times as much.
    query: Select[Any] = (
        select(*_COLUMNS, _services(conn)).where(*conditions).order_by(_I.id.desc()).limit(limit)
    )
    if before_id is not None:
        query = query.where(_I.id < before_id)
    return list(conn.execute(query.offset(offset)))


def _change_at(
    row: Row[Any], now: datetime, targets: Mapping[Severity, timedelta]
) -> datetime | None:
    return views.states_change_at(
        row.severity,
        row.declared_at,
        row.acknowledged_at,
        row.status,
        row.next_update_at,
        now,
        targets,
    )


def changes_at(
    rows: Sequence[Row[Any]], now: datetime, targets: Mapping[Severity, timedelta]
) -> datetime | None:
    """The first instant after ``now`` at which a clock-dependent state of these rows (the
    response state, an update's being overdue) would read differently; None: never."""
    found = [at for at in (_change_at(r, now, targets) for r in rows) if at is not None]
    return min(found, default=None)


def names(found: list[str] | str | None) -> list[str]:
    if found is None:  # PostgreSQL's array_agg of no rows
        return []
    return sorted(found if isinstance(found, list) else json.loads(found))


class ListedIncident(NamedTuple):
    """What a row of the list page shows."""

    key: str
    title: str
    severity: Severity
    status: Status
    started_at: datetime
    services: list[str]
    commander: str | None
    response_state: ResponseState
    update_overdue: bool


def listed(
    conn: Connection,
    flt: incidents.IncidentFilter,
    *,
    offset: int,
    limit: int,
    now: datetime,
    targets: Mapping[Severity, timedelta],
) -> list[ListedIncident]:
    """A page of the list newest first, by offset (the page links number the pages)."""
    return listed_rows(page_rows(conn, flt, offset=offset, limit=limit), now, targets)


def listed_rows(
    rows: Sequence[Row[Any]], now: datetime, targets: Mapping[Severity, timedelta]
) -> list[ListedIncident]:
    """Rows of :func:`page_rows` as the list page shows them at ``now``."""
    found = []
    for row in rows:
        _, state = response_of(row.severity, row.declared_at, row.acknowledged_at, now, targets)
        found.append(
            ListedIncident(
                key=row.key,
                title=row.title,
                severity=row.severity,
                status=row.status,
                started_at=row.started_at,
                services=names(row.services),
                commander=row.commander,
                response_state=state,
                update_overdue=is_update_overdue(row.status, row.next_update_at, now),
            )
        )
    return found
