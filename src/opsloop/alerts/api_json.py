"""The alert list as JSON straight from plain rows: no ORM object, no ``AlertOut`` validated per
row (the route documents ``Page[AlertOut]``, and ``tests/alerts/test_alert_listing.py`` checks
the two agree). Loading a page of 50 alerts as ORM objects and validating a model for each was
most of the request; the query itself was a small part."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.engine import Connection

from opsloop.alerts import service as alerts
from opsloop.alerts.models import Alert
from opsloop.core.row_json import page_bytes, raw_columns, when_text
from opsloop.core.schemas import encode_cursor

#: The counter that moves with every write to alerts (migration 0022).
GENERATION = "alerts"
_A = Alert.__table__.c
_SHOWN = (
    "id",
    "name",
    "status",
    "severity",
    "fingerprint",
    "starts_at",
    "ends_at",
    "service",
    "slo_id",
    "labels",
    "annotations",
    "generator_url",
    "receiver",
    "respond_by",
    "received_at",
    "received_by",
    "acked_at",
    "acked_by",
    "escalated_at",
    "feedback",
    "feedback_action",
    "feedback_by",
    "feedback_at",
    "incident_id",
)
_COLUMNS = raw_columns(_A[name] for name in _SHOWN)


def page_rows(
    conn: Connection, flt: alerts.AlertFilter, *, before_id: int | None, limit: int
) -> list[Row[Any]]:
    """Up to ``limit`` alerts newest first (by id) before ``before_id``, as plain rows."""
    query = select(*_COLUMNS).where(*alerts.conditions(flt))
    if before_id is not None:
        query = query.where(_A.id < before_id)
    return list(conn.execute(query.order_by(_A.id.desc()).limit(limit)))


#: A row's JSON is a function of the row alone (every column the answer shows is in it), so a
#: page polled again reuses the text of the alerts that did not change. Bounded to keep a
#: worker's memory in check (~1 KB an alert).
@lru_cache(maxsize=4096)
def alert_json(row: Row[Any]) -> str:
    """One ``AlertOut`` as JSON text, from a row of the listed columns."""
    return json.dumps(_item(row), separators=(",", ":"), ensure_ascii=False)


def _item(row: Row[Any]) -> dict[str, Any]:
    annotations: dict[str, str] = json.loads(row.annotations)
    return {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "severity": row.severity,
        "fingerprint": row.fingerprint,
        "starts_at": when_text(row.starts_at),
        "ends_at": when_text(row.ends_at),
        "service": row.service,
        "slo_id": row.slo_id,
        "labels": json.loads(row.labels),
        "annotations": annotations,
        "runbook_url": annotations.get("runbook_url") or None,
        "generator_url": row.generator_url,
        "receiver": row.receiver,
        "respond_by": when_text(row.respond_by),
        "received_at": when_text(row.received_at),
        "received_by": row.received_by,
        "acked_at": when_text(row.acked_at),
        "acked_by": row.acked_by or None,
        "escalated_at": when_text(row.escalated_at),
        "feedback": row.feedback,
        "feedback_action": row.feedback_action or None,
        "feedback_by": row.feedback_by or None,
        "feedback_at": when_text(row.feedback_at),
        "incident_id": row.incident_id,
    }


def page_json(rows: Sequence[Row[Any]], limit: int) -> bytes:
    """A ``Page[AlertOut]`` of the first ``limit`` rows; a further row means a next page."""
    shown = rows[:limit]
    cursor = encode_cursor(shown[-1].id) if len(rows) > limit and shown else None
    return page_bytes((alert_json(r) for r in shown), cursor)
