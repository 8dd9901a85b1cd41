"""The change list as JSON straight from plain rows: no ORM object, no ``ChangeView`` (with the
approvals and warnings a row of the list does not show) and no ``ChangeRow`` validated per
change; the route documents ``Page[ChangeRow]``, and ``tests/changes/test_change_listing.py``
checks the two agree."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.engine import Connection

from opsloop.changes.models import Change
from opsloop.core.row_json import page_bytes, raw_columns, when_text
from opsloop.core.schemas import encode_cursor

#: The counter that moves with every write to changes (migration 0022).
GENERATION = "changes"
_C = Change.__table__.c
_SHOWN = (
    "key",
    "title",
    "service",
    "category",
    "model",
    "risk",
    "state",
    "requester",
    "window_start",
    "window_end",
    "created_at",
)
_COLUMNS = (_C.id, *raw_columns(_C[name] for name in _SHOWN))


def page_rows(
    conn: Connection, conditions: Sequence[Any], *, before_id: int | None, limit: int
) -> list[Row[Any]]:
    """Up to ``limit`` changes newest first (by id) before ``before_id``, as plain rows."""
    query = select(*_COLUMNS).where(*conditions)
    if before_id is not None:
        query = query.where(_C.id < before_id)
    return list(conn.execute(query.order_by(_C.id.desc()).limit(limit)))


#: A row's JSON is a function of the row alone, so a page listed again reuses the text of the
#: changes that did not change. Bounded to keep a worker's memory in check (~400 B a change).
@lru_cache(maxsize=4096)
def change_json(row: Row[Any]) -> str:
    """One ``ChangeRow`` as JSON text, from a row of the listed columns."""
    item = {
        "key": row.key,
        "title": row.title,
        "service": row.service,
        "category": row.category,
        "model": row.model,
        "risk": row.risk,
        "state": row.state,
        "requester": row.requester,
        "window_start": when_text(row.window_start),
        "window_end": when_text(row.window_end),
        "created_at": when_text(row.created_at),
    }
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)


def page_json(rows: Sequence[Row[Any]], limit: int) -> bytes:
    """A ``Page[ChangeRow]`` of the first ``limit`` rows; a further row means a next page."""
    shown = rows[:limit]
    cursor = encode_cursor(shown[-1].id) if len(rows) > limit and shown else None
    return page_bytes((change_json(r) for r in shown), cursor)
