"""API answers built from rows (shared by the API and the CLI's --json)."""

from __future__ import annotations

import json

from opsloop.notifications.models import Channel, DeliveryAttempt, OutboxEntry, Subscription
from opsloop.notifications.schemas import AttemptOut, ChannelOut, OutboxOut, SubscriptionOut

MASK = "********"


def channel_out(channel: Channel, shown_secret: str | None = None) -> ChannelOut:
    secret = shown_secret or (MASK if channel.secret else None)
    return ChannelOut(
        id=channel.id,
        name=channel.name,
        kind=channel.kind,
        target=channel.target_hint,
        secret=secret,
        enabled=channel.enabled,
        disabled_reason=channel.disabled_reason,
        rate_limit_per_minute=channel.rate_limit_per_minute,
        previous_secret_valid_until=channel.previous_expires_at,
        last_delivery_at=channel.last_delivery_at,
        last_latency_ms=channel.last_latency_ms,
        failure_count=channel.failure_count,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


def subscription_out(sub: Subscription, channel_name: str) -> SubscriptionOut:
    return SubscriptionOut(
        id=sub.id,
        channel=channel_name,
        events=json.loads(sub.events),
        service=sub.service,
        team=sub.team,
        tier=sub.tier,
        created_at=sub.created_at,
    )


def outbox_out(
    row: OutboxEntry, channel_name: str, attempts: list[DeliveryAttempt] | None = None
) -> OutboxOut:
    return OutboxOut(
        id=row.id,
        channel=channel_name,
        webhook_id=row.webhook_id,
        event_type=row.event_type,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        last_status=row.last_status,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        latency_ms=row.latency_ms,
        payload=None if attempts is None else json.loads(row.payload),
        attempt_log=None
        if attempts is None
        else [
            AttemptOut(at=a.at, status=a.status, error=a.error, latency_ms=a.latency_ms)
            for a in attempts
        ],
    )
