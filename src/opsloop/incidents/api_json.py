"""The incident list as JSON straight from plain rows: no ORM object, no view and no model
validated per row (the shape is ``Page[IncidentRow]``, which the route documents).

A page of 50 cost about 7 ms through ``list_incidents``, ``IncidentView`` and ``IncidentRow``,
almost all of it Python around SQL that takes a fraction of a millisecond: here one query reads
the columns a row shows, each incident's services grouped beside them. The content is exactly
what ``IncidentRow`` gives (``tests/incidents/test_list_json.py`` compares them byte for byte).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.schemas import encode_cursor
from opsloop.incidents import service as incidents
from opsloop.incidents.models import Incident, IncidentService
from opsloop.incidents.rules import Severity
from opsloop.incidents.views import is_update_overdue, response_of

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
    before_id: int | None,
    limit: int,
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
    return list(conn.execute(query))


def _names(found: list[str] | str | None) -> list[str]:
    if found is None:  # PostgreSQL's array_agg of no rows
        return []
    return sorted(found if isinstance(found, list) else json.loads(found))


def _time(value: datetime | None) -> str | None:
    # Values of UTCDateTime are always UTC: utc_text's "Z" without its test, five times a row.
    return None if value is None else value.isoformat()[:-6] + "Z"


def _item(
    row: Sequence[Any], now: datetime, targets: Mapping[Severity, timedelta]
) -> dict[str, Any]:
    # Unpacked once: each attribute of a Row is a lookup by name.
    _, key, title, severity, status, commander, *times, services = row
    started, declared, acknowledged, resolved, next_update = times
    due, state = response_of(severity, declared, acknowledged, now, targets)
    return {
        "key": key,
        "title": title,
        "severity": severity.value,
        "status": status.value,
        "services": _names(services),
        "commander": commander,
        "started_at": _time(started),
        "declared_at": _time(declared),
        "acknowledged_at": _time(acknowledged),
        "resolved_at": _time(resolved),
        "next_update_at": _time(next_update),
        "response": {
            "target_minutes": int(targets[severity].total_seconds() // 60),
            "due_at": _time(due),
            "state": state,
        },
        "update_overdue": is_update_overdue(status, next_update, now),
    }


def page_json(
    conn: Connection,
    flt: incidents.IncidentFilter,
    *,
    before_id: int | None,
    limit: int,
    targets: Mapping[Severity, timedelta],
) -> bytes:
    """A ``Page[IncidentRow]``: ``limit`` incidents newest first, and the cursor of the next
    page when there is one."""
    rows = page_rows(conn, flt, before_id=before_id, limit=limit + 1)
    shown = rows[:limit]
    now = clock.now()
    cursor = encode_cursor(shown[-1].id) if len(rows) > limit and shown else None
    body = {
        "items": [_item(r, now, targets) for r in shown],
        "next_cursor": cursor,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
