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

from sqlalchemy.engine import Connection

from opsloop.core import clock
from opsloop.core.schemas import encode_cursor
from opsloop.incidents import listing
from opsloop.incidents import service as incidents
from opsloop.incidents.rules import Severity
from opsloop.incidents.views import is_update_overdue, response_of


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
        "services": listing.names(services),
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
    return page_json_until(conn, flt, before_id=before_id, limit=limit, targets=targets)[0]


def page_json_until(
    conn: Connection,
    flt: incidents.IncidentFilter,
    *,
    before_id: int | None,
    limit: int,
    targets: Mapping[Severity, timedelta],
) -> tuple[bytes, datetime | None]:
    """:func:`page_json`, and the first instant at which a response state or an update's
    being overdue on it would read differently (None: never)."""
    rows = listing.page_rows(conn, flt, before_id=before_id, limit=limit + 1)
    shown = rows[:limit]
    now = clock.now()
    cursor = encode_cursor(shown[-1].id) if len(rows) > limit and shown else None
    body = {
        "items": [_item(r, now, targets) for r in shown],
        "next_cursor": cursor,
    }
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return text, listing.changes_at(shown, now, targets)
