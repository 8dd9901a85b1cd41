"""The upsert that stores alert instances, sent without the ORM on SQLite.

On SQLite the statement is run by the driver's ``executemany`` over plain tuples, in C; through
SQLAlchemy each row cost a round of bind processing in Python that took about half of a
webhook's time in the writer thread. Datetimes are given as the column stores them (UTC text,
made by the column type's own bind processor). PostgreSQL keeps SQLAlchemy's multi-row
``INSERT … VALUES``, one statement for a group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from opsloop.alerts.models import Alert, AlertStatus
from opsloop.core.db import UTCDateTime, upsert_for

_TABLE = Alert.__table__
#: Every column but ``id``, in the order of the statement below.
COLUMNS = (
    "fingerprint",
    "starts_at",
    "ends_at",
    "status",
    "name",
    "severity",
    "service",
    "slo_id",
    "labels",
    "annotations",
    "generator_url",
    "receiver",
    "respond_by",
    "received_at",
    "received_by",
    "request_id",
    "resolved_request_id",
    "acked_at",
    "acked_by",
    "ack_seconds",
    "escalated_at",
    "feedback",
    "feedback_action",
    "feedback_by",
    "feedback_at",
    "incident_id",
    "routed_at",
    "route_rule_id",
)
_TIMES = tuple(
    i for i, name in enumerate(COLUMNS) if isinstance(_TABLE.columns[name].type, UTCDateTime)
)
#: Only a firing instance is ended, only by a resolved notice: repeats, retries and a late
#: firing notice after the resolved one change nothing.
SQLITE_UPSERT = """
INSERT INTO alerts (
    fingerprint, starts_at, ends_at, status, name, severity, service, slo_id, labels,
    annotations, generator_url, receiver, respond_by, received_at, received_by, request_id,
    resolved_request_id, acked_at, acked_by, ack_seconds, escalated_at, feedback,
    feedback_action, feedback_by, feedback_at, incident_id, routed_at, route_rule_id
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (fingerprint, starts_at) DO UPDATE SET
    status = excluded.status,
    ends_at = excluded.ends_at,
    resolved_request_id = excluded.resolved_request_id
WHERE alerts.status = 'firing' AND excluded.status = 'resolved'
"""


def upsert_alerts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new instances and end firing ones; ``rows`` hold every column but ``id``, at
    most one row per (fingerprint, starts_at)."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(SQLITE_UPSERT, _tuples(rows, connection.dialect))
        return
    upsert = upsert_for(session)(_TABLE)
    excluded = upsert.excluded
    stmt = upsert.on_conflict_do_update(
        index_elements=[_TABLE.c.fingerprint, _TABLE.c.starts_at],
        set_={
            "status": excluded.status,
            "ends_at": excluded.ends_at,
            "resolved_request_id": excluded.resolved_request_id,
        },
        where=(_TABLE.c.status == AlertStatus.firing.value)
        & (excluded.status == AlertStatus.resolved.value),
    )
    session.execute(stmt, list(rows))


_TIME_TEXT: dict[str, Callable[[datetime], Any]] = {}


def _time_text(dialect: Dialect) -> Callable[[datetime], Any]:
    found = _TIME_TEXT.get(dialect.name)
    if found is None:
        processor = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        assert processor is not None
        found = _TIME_TEXT[dialect.name] = processor
    return found


def _tuples(rows: Sequence[dict[str, Any]], dialect: Dialect) -> list[tuple[Any, ...]]:
    as_text = _time_text(dialect)
    out = []
    for row in rows:
        values = [row[name] for name in COLUMNS]
        for position in _TIMES:
            if values[position] is not None:
                values[position] = as_text(values[position])
        out.append(tuple(str(v) if isinstance(v, AlertStatus) else v for v in values))
    return out
