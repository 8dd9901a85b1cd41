"""The outbox as the delivery threads and operators see it: claiming due rows under a lease,
recording what a delivery attempt gave, listing and resending.

Claims are short transactions of their own. On PostgreSQL the due rows are picked with
``SELECT … FOR UPDATE SKIP LOCKED``, so replicas claiming at once take different rows instead
of waiting for or duplicating each other; on SQLite the write transaction (``BEGIN
IMMEDIATE``) already serialises the conditional UPDATE. The lease end a claim sets is its
fencing token: an outcome is recorded only on rows still held under that very lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal
from opsloop.core.auth.service import require
from opsloop.core.db import Database
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.notifications.channels import WRITE_ROLE
from opsloop.notifications.kinds import OutboxState
from opsloop.notifications.models import Channel, DeliveryAttempt, OutboxEntry

_O = OutboxEntry


def due_condition(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(_O.state == OutboxState.pending, _O.next_attempt_at <= now),
        and_(_O.state == OutboxState.sending, _O.lease_until <= now),
    )


def claim_due(db: Database, *, limit: int, lease: timedelta) -> tuple[list[int], datetime]:
    """Take up to ``limit`` due rows for this thread until the lease ends; returns their ids
    and the lease end (the token :func:`finish` needs)."""
    now = clock.now()
    lease_until = now + lease
    due = (
        select(_O.id)
        .where(due_condition(now))
        .order_by(_O.next_attempt_at, _O.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(OutboxEntry)
        .where(_O.id.in_(due.scalar_subquery()))
        .values(state=OutboxState.sending, lease_until=lease_until)
        .returning(_O.id)
        .execution_options(synchronize_session=False)
    )
    # Looked for first with a read: the threads poll every second, and a write transaction each
    # time would queue behind (on SQLite: hold up) every other writer for nothing.
    with db.read() as session:
        if session.scalar(select(_O.id).where(due_condition(now)).limit(1)) is None:
            return [], lease_until
    with db.write(audited=False) as session:
        ids = sorted(session.scalars(claim).all())
    return ids, lease_until


def held(session: Session, ids: Sequence[int], lease_until: datetime) -> list[OutboxEntry]:
    """The rows of ``ids`` still held under this lease (locked on PostgreSQL)."""
    query = (
        select(OutboxEntry)
        .where(_O.id.in_(ids), _O.state == OutboxState.sending, _O.lease_until == lease_until)
        .order_by(_O.id)
        .with_for_update()
    )
    return list(session.scalars(query))


def add_attempt(
    session: Session, row: OutboxEntry, *, status: int | None, error: str, latency_ms: int
) -> None:
    session.add(
        DeliveryAttempt(
            outbox_id=row.id,
            at=clock.now(),
            status=status,
            error=error[:1000],
            latency_ms=latency_ms,
        )
    )


def list_outbox(
    session: Session, *, state: OutboxState | None, before_id: int | None, limit: int
) -> list[tuple[OutboxEntry, str]]:
    """Newest first; ``before_id`` continues a page."""
    query = select(OutboxEntry, Channel.name).join(Channel, Channel.id == _O.channel_id)
    if state is not None:
        query = query.where(_O.state == state)
    if before_id is not None:
        query = query.where(_O.id < before_id)
    rows = session.execute(query.order_by(_O.id.desc()).limit(limit))
    return [(row, name) for row, name in rows]


def get_entry(session: Session, *, entry_id: int) -> tuple[OutboxEntry, list[DeliveryAttempt]]:
    row = session.get(OutboxEntry, entry_id)
    if row is None:
        raise NotFound(f"no notification {entry_id}", field="notification")
    attempts = session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.outbox_id == entry_id)
        .order_by(DeliveryAttempt.id)
    )
    return row, list(attempts)


def resend(session: Session, *, principal: Principal, entry_id: int) -> OutboxEntry:
    """Deliver a dead or delivered notification again, with the same webhook id."""
    require(principal, WRITE_ROLE)
    row, _ = get_entry(session, entry_id=entry_id)
    if row.state not in (OutboxState.dead, OutboxState.delivered):
        raise ValidationFailed(
            f"notification {entry_id} is {row.state.value}; only dead or delivered ones "
            "can be resent",
            field="notification",
        )
    before = {"state": row.state.value, "attempts": row.attempts, "last_error": row.last_error}
    row.state, row.attempts, row.last_error = OutboxState.pending, 0, ""
    row.next_attempt_at, row.lease_until = clock.now(), None
    audit.record(
        session,
        principal=principal,
        action="notification.resend",
        entity_type="notification",
        entity_id=row.id,
        before=before,
        after={"state": row.state.value, "webhook_id": row.webhook_id},
    )
    return row
