from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.core.db import Base, UTCDateTime
from opsloop.core.stored_enum import StoredEnum
from opsloop.notifications.kinds import ChannelKind, OutboxState


class Channel(Base):
    """Where notifications go. ``target`` and the secrets are stored encrypted
    (opsloop.notifications.crypto); ``target_hint`` is what may be shown."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    kind: Mapped[ChannelKind] = mapped_column(StoredEnum(ChannelKind, 16))
    target: Mapped[str] = mapped_column(Text)  # encrypted
    target_hint: Mapped[str] = mapped_column(String(300))
    secret: Mapped[str] = mapped_column(Text, default="")  # encrypted; webhooks only
    # The secret replaced by the last rotation, still signed with until previous_expires_at.
    previous_secret: Mapped[str] = mapped_column(Text, default="")
    previous_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str] = mapped_column(String(500), default="")
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, default=0)  # 0: no limit
    # The chat rate window: messages sent since rate_window_start (one minute long).
    rate_window_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rate_window_count: Mapped[int] = mapped_column(Integer, default=0)
    last_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Failed attempts since the last delivery.
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Subscription(Base):
    """A channel's interest: event type patterns, narrowed by optional selectors."""

    __tablename__ = "notification_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    events: Mapped[str] = mapped_column(Text)  # JSON list of names or "prefix.*" patterns
    service: Mapped[str | None] = mapped_column(String(63), nullable=True)
    team: Mapped[str | None] = mapped_column(String(63), nullable=True)
    tier: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxEntry(Base):
    """One notification for one channel, written in the transaction of the event it announces
    and delivered by the delivery threads (opsloop.notifications.delivery)."""

    __tablename__ = "notification_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    #: The Standard Webhooks ``webhook-id``: the same on every attempt and resend, so
    #: receivers can drop duplicates.
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)  # JSON {"type", "timestamp", "data"}
    state: Mapped[OutboxState] = mapped_column(StoredEnum(OutboxState, 16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (Index("ix_notification_outbox_due", "state", "next_attempt_at"),)


class DeliveryAttempt(Base):
    """One try at delivering an outbox entry: its answer or error, and how long it took."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("notification_outbox.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(String(1000), default="")
    latency_ms: Mapped[int] = mapped_column(Integer)
