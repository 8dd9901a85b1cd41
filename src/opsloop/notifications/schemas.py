from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from opsloop.core.schemas import PlainStr, Schema
from opsloop.notifications.kinds import ChannelKind, OutboxState

Name = Annotated[
    str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
]
Target = Annotated[PlainStr, Field(min_length=1, max_length=2000)]
Secret = Annotated[PlainStr, Field(min_length=1, max_length=200)]
RateLimit = Annotated[int, Field(ge=0, le=10_000)]
Selector = Annotated[PlainStr, Field(min_length=1, max_length=63)]


class ChannelIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: ChannelKind
    target: Target = Field(description="the webhook URL, or an Apprise URL for chat and e-mail")
    secret: Secret | None = Field(
        default=None, description="webhooks: whsec_ + base64 of 24+ bytes; made if absent"
    )
    enabled: bool = True
    rate_limit_per_minute: RateLimit = Field(default=0, description="chat: 0 means no limit")


class ChannelPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    target: Target | None = None
    enabled: bool | None = None
    rate_limit_per_minute: RateLimit | None = None


class RotateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    secret: Secret | None = None


class ChannelOut(Schema):
    id: int
    name: str
    kind: ChannelKind
    target: str = Field(description="scheme and host only; the full target is never shown")
    secret: str | None = Field(
        default=None, description="masked, except once in the answer that created or rotated it"
    )
    enabled: bool
    disabled_reason: str
    rate_limit_per_minute: int
    previous_secret_valid_until: datetime | None
    last_delivery_at: datetime | None
    last_latency_ms: int | None
    failure_count: int
    created_at: datetime
    updated_at: datetime


class SubscriptionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    channel: Name
    events: list[Annotated[PlainStr, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=50
    )
    service: Selector | None = None
    team: Selector | None = None
    tier: Annotated[int, Field(ge=1, le=4)] | None = None


class SubscriptionOut(Schema):
    id: int
    channel: str
    events: list[str]
    service: str | None
    team: str | None
    tier: int | None
    created_at: datetime


class AttemptOut(Schema):
    at: datetime
    status: int | None
    error: str
    latency_ms: int


class OutboxOut(Schema):
    id: int
    channel: str
    webhook_id: str
    event_type: str
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    last_error: str
    last_status: int | None
    created_at: datetime
    delivered_at: datetime | None
    latency_ms: int | None
    payload: dict[str, Any] | None = None
    attempt_log: list[AttemptOut] | None = None


class QueuedOut(Schema):
    outbox_id: int
