"""Notification use-cases: subscriptions, publishing events, test messages and resends.

Other domains announce events with :func:`publish` (or :func:`publish_many`) inside the
transaction that records them: the outbox rows commit or roll back with the event, and the
delivery threads (opsloop.notifications.delivery) send them afterwards. Channels are in
:mod:`opsloop.notifications.channels`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal
from opsloop.core.auth.service import require
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.notifications import events
from opsloop.notifications.channels import READ_ROLE, WRITE_ROLE, get_channel
from opsloop.notifications.kinds import OutboxState
from opsloop.notifications.models import Channel, OutboxEntry, Subscription
from opsloop.services import service as catalog

__all__ = ["READ_ROLE", "WRITE_ROLE", "Event", "publish", "publish_many"]
MAX_TIER = 4


@dataclass(frozen=True)
class Event:
    """One event for :func:`publish_many`; the fields are :func:`publish`'s arguments."""

    event_type: str
    summary: str
    data: dict[str, Any]
    service: str | None = None
    team: str | None = None
    tier: int | None = None
    link: str | None = None


def subscription_view(sub: Subscription, channel_name: str) -> dict[str, Any]:
    return {
        "channel": channel_name,
        "events": json.loads(sub.events),
        "service": sub.service,
        "team": sub.team,
        "tier": sub.tier,
    }


def list_subscriptions(session: Session) -> list[tuple[Subscription, str]]:
    rows = session.execute(
        select(Subscription, Channel.name)
        .join(Channel, Channel.id == Subscription.channel_id)
        .order_by(Subscription.id)
    )
    return [(sub, name) for sub, name in rows]


def subscribe(
    session: Session,
    *,
    principal: Principal,
    channel: int | str,
    patterns: list[str],
    service: str | None = None,
    team: str | None = None,
    tier: int | None = None,
) -> Subscription:
    """``patterns`` are event type names, ``prefix.*`` or ``*``. A team's default channel is
    a subscription with only ``team`` set and ``["*"]``."""
    require(principal, WRITE_ROLE)
    target = get_channel(session, ref=channel)
    checked = events.check_patterns(patterns)
    if tier is not None and not 1 <= tier <= MAX_TIER:
        raise ValidationFailed(f"tier: must be 1 to {MAX_TIER}", field="tier")
    sub = Subscription(
        channel_id=target.id,
        events=json.dumps(checked),
        service=service or None,
        team=team or None,
        tier=tier,
        created_at=clock.now(),
    )
    session.add(sub)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="notification.subscription.create",
        entity_type="notification_subscription",
        entity_id=sub.id,
        after=subscription_view(sub, target.name),
    )
    return sub


def unsubscribe(session: Session, *, principal: Principal, subscription_id: int) -> None:
    require(principal, WRITE_ROLE)
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound(f"no subscription {subscription_id}", field="subscription")
    name = session.scalar(select(Channel.name).where(Channel.id == sub.channel_id)) or ""
    audit.record(
        session,
        principal=principal,
        action="notification.subscription.delete",
        entity_type="notification_subscription",
        entity_id=sub.id,
        before=subscription_view(sub, name),
    )
    session.delete(sub)


def _wants(sub: tuple[int, list[str], str | None, str | None, int | None], event: Event) -> bool:
    _, patterns, service, team, tier = sub
    if service is not None and service != event.service:
        return False
    if team is not None and team != event.team:
        return False
    if tier is not None and tier != event.tier:
        return False
    return any(events.matches(p, event.event_type) for p in patterns)


def publish_many(session: Session, batch: Sequence[Event]) -> list[int]:
    """Outbox rows for every channel subscribed to each event, in the caller's transaction;
    returns their ids. Subscriptions are read once for the whole batch, and the rows are
    written in one INSERT."""
    for event in batch:
        if not events.is_known(event.event_type):
            raise ValueError(f"unregistered event type {event.event_type!r}")
    if not batch:
        return []
    query = (
        select(
            Subscription.channel_id,
            Subscription.events,
            Subscription.service,
            Subscription.team,
            Subscription.tier,
        )
        .join(Channel, Channel.id == Subscription.channel_id)
        .where(Channel.enabled.is_(True))
    )
    subs = [
        (channel_id, json.loads(patterns), service, team, tier)
        for channel_id, patterns, service, team, tier in session.execute(query)
    ]
    batch = _routed(session, batch)
    now = clock.now()
    rows: list[dict[str, Any]] = []
    for event in batch:
        channel_ids = sorted({sub[0] for sub in subs if _wants(sub, event)})
        payload = json.dumps(_payload(event, now), separators=(",", ":"), default=str)
        rows += [_outbox_row(cid, event.event_type, payload, now) for cid in channel_ids]
    if not rows:
        return []
    ids = session.scalars(insert(OutboxEntry).returning(OutboxEntry.id), rows).all()
    return list(ids)


def _routed(session: Session, batch: Sequence[Event]) -> list[Event]:
    """Events with their service's owner team and tier from the catalog where the publisher
    left them out, so subscriptions by team or tier match whatever domain publishes."""
    names = {
        e.service for e in batch if e.service is not None and (e.team is None or e.tier is None)
    }
    facts = catalog.routing_facts(session, names) if names else {}
    routed = []
    for event in batch:
        found = facts.get(event.service) if event.service is not None else None
        if found is not None:
            event = replace(
                event,
                team=event.team if event.team is not None else found.owner_team,
                tier=event.tier if event.tier is not None else found.tier,
            )
        routed.append(event)
    return routed


def publish(
    session: Session,
    *,
    event_type: str,
    summary: str,
    data: dict[str, Any],
    service: str | None = None,
    team: str | None = None,
    tier: int | None = None,
    link: str | None = None,
) -> list[int]:
    """Announce one event to every channel subscribed to it (see :func:`publish_many`).

    ``link`` is a path in opsloop (``/slos/3``) or an absolute URL; a path is sent as an
    absolute URL under ``OPSLOOP_PUBLIC_URL`` (resolved when delivered)."""
    event = Event(event_type, summary, data, service, team, tier, link)
    return publish_many(session, [event])


def _payload(event: Event, now: datetime) -> dict[str, Any]:
    data: dict[str, Any] = {**event.data, "summary": event.summary, "link": event.link}
    for key in ("service", "team", "tier"):
        value = getattr(event, key)
        if value is not None:
            data[key] = value
    return {"type": event.event_type, "timestamp": now.isoformat(), "data": data}


def _outbox_row(channel_id: int, event_type: str, payload: str, now: datetime) -> dict[str, Any]:
    return {
        "channel_id": channel_id,
        "webhook_id": "msg_" + secrets.token_hex(16),
        "event_type": event_type,
        "payload": payload,
        "state": OutboxState.pending,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }


def send_test(session: Session, *, principal: Principal, channel: int | str) -> int:
    """Queue a ``notification.test`` for one channel, whatever it subscribes to."""
    require(principal, WRITE_ROLE)
    target = get_channel(session, ref=channel)
    now = clock.now()
    event = Event(
        events.TEST_EVENT,
        f"Test notification for channel {target.name}",
        {"channel": target.name, "requested_by": principal.actor},
        link="/notifications",
    )
    payload = json.dumps(_payload(event, now), separators=(",", ":"))
    row = OutboxEntry(**_outbox_row(target.id, events.TEST_EVENT, payload, now))
    session.add(row)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="notification.channel.test",
        entity_type="notification_channel",
        entity_id=target.id,
        after={"outbox_id": row.id, "webhook_id": row.webhook_id},
    )
    return row.id
