"""What a delivery attempt leaves behind: the outbox row's new state, the attempt, the
channel's last delivery, latency and failure count, and the chat rate window."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.notifications import backoff, outbox
from opsloop.notifications.kinds import OutboxState
from opsloop.notifications.models import Channel, OutboxEntry
from opsloop.notifications.senders import Result

log = logging.getLogger("opsloop.notifications")
RATE_WINDOW = timedelta(minutes=1)
GONE = 410


@dataclass(frozen=True)
class Claimed:
    id: int
    webhook_id: str
    payload: str
    lease_until: datetime


def finish(
    db: Database, settings: Settings, channel_id: int, claimed: list[Claimed], result: Result
) -> None:
    """Record ``result`` for ``claimed`` (several rows when one chat message carried them)."""
    now = clock.now()
    with db.write(audited=False) as session:
        # The channel first, then its rows: the order a channel's deletion takes them in.
        channel = _locked_channel(session, channel_id)
        rows = outbox.held(session, [c.id for c in claimed], claimed[0].lease_until)
        for row in rows:
            outbox.add_attempt(
                session,
                row,
                status=result.status,
                error=result.error,
                latency_ms=result.latency_ms,
            )
            row.attempts += 1
            row.last_status, row.last_error, row.lease_until = result.status, result.error, None
            if result.ok:
                row.state, row.delivered_at, row.latency_ms = (
                    OutboxState.delivered,
                    now,
                    result.latency_ms,
                )
                if len(rows) > 1:
                    row.last_error = f"sent in one message with {len(rows) - 1} other(s)"
            elif result.status == GONE or row.attempts >= settings.notification_max_attempts:
                row.state = OutboxState.dead
            else:
                row.state = OutboxState.pending
                row.next_attempt_at = now + _delay(settings, row.attempts, result, now)
        if channel is not None and rows:
            if result.ok:
                channel.last_delivery_at, channel.last_latency_ms = now, result.latency_ms
                channel.failure_count = 0
            else:
                channel.failure_count += 1
    if result.status == GONE and rows:
        disable_gone(db, channel_id)


def _delay(settings: Settings, attempts: int, result: Result, now: datetime) -> timedelta:
    cap = settings.notification_retry_cap_seconds
    asked = backoff.retry_after(result.retry_after, now, cap=cap)
    if asked is not None:
        return asked
    base = settings.notification_retry_base_seconds
    return timedelta(seconds=backoff.backoff_seconds(attempts, base=base, cap=cap))


def disable_gone(db: Database, channel_id: int) -> None:
    """A receiver that answers 410 Gone wants no more: the channel is disabled (audited) and
    what still waits for it is dead-lettered with that reason."""
    reason = f"the receiver answered 410 Gone at {clock.now().isoformat()}"
    with db.write() as session:
        channel = session.get(Channel, channel_id)
        if channel is None or not channel.enabled:
            return
        channel.enabled, channel.disabled_reason = False, reason
        channel.updated_at = clock.now()
        session.execute(
            update(OutboxEntry)
            .where(
                OutboxEntry.channel_id == channel_id,
                OutboxEntry.state == OutboxState.pending,
            )
            .values(state=OutboxState.dead, last_error=f"channel disabled: {reason}")
            .execution_options(synchronize_session=False)
        )
        audit.record(
            session,
            principal=SYSTEM,
            action="notification.channel.disable",
            entity_type="notification_channel",
            entity_id=channel_id,
            before={"enabled": True},
            after={"enabled": False, "reason": reason},
        )
    log.warning("notification channel %s disabled: %s", channel_id, reason)


def give_up(db: Database, claimed: list[Claimed], reason: str) -> None:
    with db.write(audited=False) as session:
        for row in outbox.held(session, [c.id for c in claimed], claimed[0].lease_until):
            row.state, row.last_error, row.lease_until = OutboxState.dead, reason, None


def postpone(db: Database, claimed: list[Claimed], *, until: datetime) -> None:
    """Back to pending without counting an attempt (the chat channel's minute is used up)."""
    with db.write(audited=False) as session:
        for row in outbox.held(session, [c.id for c in claimed], claimed[0].lease_until):
            row.state, row.next_attempt_at, row.lease_until = OutboxState.pending, until, None


def take_slots(db: Database, channel_id: int, *, wanted: int, limit: int) -> int:
    """How many messages the channel may send now (``wanted`` when it has no limit, else
    what is left of its minute; at most one more when the rest go out as one message)."""
    if limit <= 0:
        return wanted
    now = clock.now()
    with db.write(audited=False) as session:
        channel = _locked_channel(session, channel_id)
        if channel is None:
            return 0
        if channel.rate_window_start is None or channel.rate_window_start + RATE_WINDOW <= now:
            channel.rate_window_start, channel.rate_window_count = now, 0
        left = limit - channel.rate_window_count
        if left <= 0:
            return 0
        taken = wanted if wanted <= left else 1
        channel.rate_window_count += taken
        return wanted if wanted <= left else 1


def _locked_channel(session: Session, channel_id: int) -> Channel | None:
    # FOR NO KEY UPDATE: publishing (which inserts rows that refer to the channel, taking
    # FOR KEY SHARE) never waits for a delivery's bookkeeping.
    query = select(Channel).where(Channel.id == channel_id).with_for_update(key_share=True)
    return session.scalar(query)


def window_end(db: Database, channel_id: int) -> datetime:
    with db.read() as session:
        start = session.scalar(select(Channel.rate_window_start).where(Channel.id == channel_id))
    return (start or clock.now()) + RATE_WINDOW
