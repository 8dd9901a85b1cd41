"""The incident list as JSON straight from plain rows: no ORM object, no view and no model
validated per row (the shape is ``Page[IncidentRow]``, which the route documents).

A page of 50 cost about 7 ms through ``list_incidents``, ``IncidentView`` and ``IncidentRow``,
almost all of it Python around SQL that takes a fraction of a millisecond: here one query reads
the columns a row shows and one grouped query the page's services. The content is exactly what
``IncidentRow`` gives (``tests/incidents/test_list_json.py`` compares them item by item).
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
from opsloop.core.schemas import encode_cursor, utc_text
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


def page_rows(
    conn: Connection,
    flt: incidents.IncidentFilter,
    *,
    before_id: int | None,
    limit: int,
) -> list[Row[Any]]:
    """Up to ``limit`` incidents newest first (by id) before ``before_id``, as plain rows."""
    # The filter reads the catalog only for a team; a session bound to the connection opens
    # nothing until then.
    with Session(bind=conn) as session:
        conditions = incidents.conditions(session, flt)
    query: Select[Any] = select(*_COLUMNS).where(*conditions).order_by(_I.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(_I.id < before_id)
    return list(conn.execute(query))


def services_of(conn: Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    """The services of each incident, sorted, in one query grouped by incident."""
    if not ids:
        return {}
    # One array per incident: PostgreSQL hands it over as a list, SQLite as JSON text. Either
    # keeps names intact whatever characters they hold, unlike a joined string.
    postgres = conn.dialect.name == "postgresql"
    names = func.array_agg(_S.service) if postgres else func.json_group_array(_S.service)
    query = select(_S.incident_id, names).where(_S.incident_id.in_(ids)).group_by(_S.incident_id)
    return {
        incident_id: sorted(found if isinstance(found, list) else json.loads(found))
        for incident_id, found in conn.execute(query)
    }


def _time(value: datetime | None) -> str | None:
    return None if value is None else utc_text(value)


def _item(
    row: Row[Any], services: list[str], now: datetime, targets: Mapping[Severity, timedelta]
) -> dict[str, Any]:
    due, state = response_of(row.severity, row.declared_at, row.acknowledged_at, now, targets)
    return {
        "key": row.key,
        "title": row.title,
        "severity": row.severity.value,
        "status": row.status.value,
        "services": services,
        "commander": row.commander,
        "started_at": utc_text(row.started_at),
        "declared_at": utc_text(row.declared_at),
        "acknowledged_at": _time(row.acknowledged_at),
        "resolved_at": _time(row.resolved_at),
        "next_update_at": _time(row.next_update_at),
        "response": {
            "target_minutes": int(targets[row.severity].total_seconds() // 60),
            "due_at": utc_text(due),
            "state": state,
        },
        "update_overdue": is_update_overdue(row.status, row.next_update_at, now),
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
    services = services_of(conn, [r.id for r in shown])
    now = clock.now()
    cursor = encode_cursor(shown[-1].id) if len(rows) > limit and shown else None
    body = {
        "items": [_item(r, services.get(r.id, []), now, targets) for r in shown],
        "next_cursor": cursor,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
