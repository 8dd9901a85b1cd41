"""Appending to and reading the audit trail.

Every service write calls :func:`record` inside its own transaction, so the change and its audit
record commit or roll back together. Appends are serialised: on PostgreSQL by a transaction-level
advisory lock, on SQLite by the write transaction's ``BEGIN IMMEDIATE``. Either way the chain
stays linear however many processes write at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, event, func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction

from opsloop.core import clock
from opsloop.core.audit.chain import FIELDS, GENESIS, Draft, Link, diff, extend
from opsloop.core.audit.models import AuditRecord
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.db import AUDIT_LOCK_KEY, is_write_session
from opsloop.core.errors import ValidationFailed
from opsloop.core.requestctx import current_client_request_id, current_request_id

#: Who may read and verify the trail, in the API and in the web UI alike: it holds every
#: user's sign-in times and every configuration change.
READ_ROLE = Role.approver

_C = AuditRecord.__table__.c

# Database.write() takes it first already (the lock order in opsloop.core.db); again is free.
_AUDIT_LOCK_KEY = AUDIT_LOCK_KEY
# Where a write transaction keeps the chain head it last appended (see _head_for_append).
_HEAD_KEY = "opsloop.audit.head"


@dataclass(frozen=True)
class Entry:
    """One record to append with :func:`record_many`: what :func:`record` takes, less the
    principal."""

    action: str
    entity_type: str
    entity_id: object
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def record(
    session: Session,
    *,
    principal: Principal,
    action: str,
    entity_type: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditRecord:
    prev_seq, prev_hash = _head_for_append(session)
    (link,) = extend(
        prev_seq,
        prev_hash,
        [_draft(principal, clock.now(), Entry(action, entity_type, entity_id, before, after))],
    )
    row = AuditRecord(**asdict(link))
    session.add(row)
    session.flush()
    session.info[_HEAD_KEY] = (link.seq, link.hash)
    return row


def record_many(session: Session, *, principal: Principal, entries: Sequence[Entry]) -> int:
    """Append ``entries`` in order, in one INSERT of many rows; returns the last ``seq``.

    For callers that write many records at once (an evaluation recording the first policy
    state of a thousand SLOs): the chain head is read at most once and nothing is loaded back.
    """
    prev_seq, prev_hash = _head_for_append(session)
    if not entries:
        return prev_seq
    at = clock.now()
    links = extend(prev_seq, prev_hash, [_draft(principal, at, e) for e in entries])
    session.execute(insert(AuditRecord), [asdict(link) for link in links])
    session.info[_HEAD_KEY] = (links[-1].seq, links[-1].hash)
    return links[-1].seq


def _draft(principal: Principal, at: datetime, entry: Entry) -> Draft:
    return Draft(
        at=at,
        actor=principal.actor,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=str(entry.entity_id),
        changes=diff(entry.before, entry.after),
        request_id=current_request_id(),
        client_request_id=current_client_request_id(),
    )


def _head_for_append(session: Session) -> tuple[int, str]:
    """The head to append after, read once per write transaction.

    The transaction holds the audit lock (PostgreSQL) or the database's write lock (SQLite)
    from its first statement, so no other writer can move the head until it ends; within it,
    every append goes through this module and updates the cached head. The cache is dropped
    when the transaction ends and when it or a savepoint in it rolls back (a savepoint may take
    appended records with it), so the next transaction reads the head again.
    """
    cached: tuple[int, str] | None = session.info.get(_HEAD_KEY)
    if cached is not None:
        return cached
    if not is_write_session(session):
        raise RuntimeError("audit.record needs a write transaction (Database.write())")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_LOCK_KEY})
    found = head(session)
    session.info[_HEAD_KEY] = found
    return found


@event.listens_for(Session, "after_transaction_end")
def _forget_head_at_end(session: Session, transaction: SessionTransaction) -> None:
    # Savepoints and the subtransactions every flush runs in end inside the transaction; what
    # they appended stays (or is rolled back, below), so only the outermost end matters here.
    if transaction.parent is None:
        session.info.pop(_HEAD_KEY, None)


@event.listens_for(Session, "after_rollback")
def _forget_head_at_rollback(session: Session) -> None:
    # Also a rollback to a savepoint, which may have taken appended records with it.
    session.info.pop(_HEAD_KEY, None)


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise ValidationFailed("since must not be after until", field="since")

    def apply(self, query: Select[Any]) -> Select[Any]:
        # Table columns: they serve ORM queries as well, and keep plain-row queries plain.
        if self.since:
            query = query.where(_C.at >= self.since)
        if self.until:
            query = query.where(_C.at < self.until)
        for column, value in (
            (_C.actor, self.actor),
            (_C.action, self.action),
            (_C.entity_type, self.entity_type),
            (_C.entity_id, self.entity_id),
        ):
            if value is not None:
                query = query.where(column == value)
        return query


#: A record's columns in ``Link``'s field order, read as plain rows where no object is needed
#: (table columns, not mapped attributes: such a query skips the ORM's per-execution work).
COLUMNS = tuple(_C[name] for name in FIELDS)


def page(
    session: Session | Connection, *, flt: AuditFilter, after_seq: int = 0, limit: int = 50
) -> tuple[Sequence[Row[Any]], int | None]:
    """Records (plain rows of ``COLUMNS``) in sequence order after ``after_seq``; returns the
    next cursor or None."""
    query = flt.apply(select(*COLUMNS)).where(_C.seq > after_seq)
    rows = session.execute(query.order_by(_C.seq).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].seq if more and rows else None)


def iterate(session: Session, *, flt: AuditFilter) -> Iterator[AuditRecord]:
    query = flt.apply(select(AuditRecord)).order_by(AuditRecord.seq)
    yield from session.scalars(query.execution_options(yield_per=1000))


def as_link(row: AuditRecord) -> Link:
    return Link(**{name: getattr(row, name) for name in FIELDS})


def to_dict(row: AuditRecord, *, parse_changes: bool = True) -> dict[str, Any]:
    """A record as plain values, in ``Link``'s field order; ``parse_changes=False`` leaves
    ``changes`` as its JSON text for callers that parse it themselves (the API's schema does,
    faster)."""
    values = {name: getattr(row, name) for name in FIELDS}
    if parse_changes:
        values["changes"] = _loads(row.changes)
    return values


def _loads(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def head(session: Session) -> tuple[int, str]:
    """Sequence number and hash of the newest record (0 and the genesis hash when empty)."""
    last = session.execute(
        select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    return (last[0], last[1]) if last else (0, GENESIS)


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditRecord)) or 0


def page_newest_first(
    session: Session,
    *,
    flt: AuditFilter,
    before_seq: int | None = None,
    limit: int = 50,
    exclude_actions: tuple[str, ...] = (),
) -> tuple[list[AuditRecord], int | None]:
    """Records newest first, older than ``before_seq``; returns the next cursor or None."""
    query = flt.apply(select(AuditRecord))
    if before_seq is not None:
        query = query.where(AuditRecord.seq < before_seq)
    if exclude_actions:
        query = query.where(AuditRecord.action.not_in(exclude_actions))
    rows: list[AuditRecord] = list(
        session.scalars(query.order_by(AuditRecord.seq.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].seq if more and rows else None)
