"""The catalog list as JSON straight from plain rows: no ORM object, no model validated per
row (the shape is ``Page[ServiceOut]``, which the route documents). A page of 100 services is
a few milliseconds of Python through the ORM and Pydantic, a fraction of that this way; the
route keeps each answer until the counter ``GENERATION`` moves."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from opsloop.core.schemas import encode_cursor, utc_text
from opsloop.services import usage
from opsloop.services.models import Service, Team
from opsloop.services.schemas import BudgetStateOut
from opsloop.services.vocabulary import tier_meaning

#: The counter that moves with every write to services and teams (migration 0023).
GENERATION = "services"
#: What a service's budget state reads: the service and its owner team, its SLOs and their
#: evaluations (0008) and its error-budget policy (0024).
BUDGET_STATE_GENERATIONS = (GENERATION, "slos", "budget_policies")

_S, _T = Service.__table__.c, Team.__table__.c
_COLUMNS = (
    _S.id,
    _S.name,
    _S.display_name,
    _S.description,
    _T.name.label("owner_team"),
    _S.tier,
    _S.lifecycle,
    _S.links,
    _S.labels,
    _S.origin,
    _S.origin_source,
    _S.created_at,
    _S.updated_at,
)


def page_rows(
    conn: Connection, conditions: Sequence[Any], *, after_id: int | None, limit: int
) -> list[Row[Any]]:
    """Up to ``limit`` services in id order after ``after_id``, as plain rows."""
    query: Select[Any] = (
        select(*_COLUMNS)
        .select_from(Service.__table__.outerjoin(Team.__table__, _S.owner_team_id == _T.id))
        .where(*conditions)
        .order_by(_S.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(_S.id > after_id)
    return list(conn.execute(query))


def _item(row: Row[Any]) -> dict[str, Any]:
    lifecycle, origin = row.lifecycle, row.origin
    return {
        "name": row.name,
        "display_name": row.display_name,
        "description": row.description,
        "owner_team": row.owner_team,
        "tier": row.tier,
        "tier_meaning": tier_meaning(row.tier),
        "lifecycle": getattr(lifecycle, "value", lifecycle),
        "links": json.loads(row.links),
        "labels": json.loads(row.labels),
        "origin": getattr(origin, "value", origin),
        "origin_source": row.origin_source,
        "created_at": utc_text(row.created_at),
        "updated_at": utc_text(row.updated_at),
    }


def page_json(rows: Sequence[Row[Any]], limit: int) -> bytes:
    """A ``Page[ServiceOut]`` of the first ``limit`` rows; a further row means a next page."""
    shown = rows[:limit]
    cursor = encode_cursor(shown[-1].id) if len(rows) > limit and shown else None
    body = {"items": [_item(r) for r in shown], "next_cursor": cursor}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def budget_state_json(conn: Connection, name: str) -> bytes:
    """The answer of GET /services/{name}/budget-state (:func:`.usage.budget_state`)."""
    with Session(bind=conn) as session:
        state = usage.budget_state(session, name=name)
    return BudgetStateOut.model_validate(state).model_dump_json().encode()
