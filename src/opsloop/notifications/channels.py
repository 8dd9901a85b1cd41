"""Notification channels: create, change, delete, rotate the webhook secret.

Targets and secrets are sealed (opsloop.notifications.crypto) before they are stored; the
audit trail and every answer see only ``channel_view``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.config import Settings
from opsloop.core.errors import Conflict, NotFound, ValidationFailed
from opsloop.notifications import signing, targets
from opsloop.notifications.crypto import box_for
from opsloop.notifications.kinds import ChannelKind
from opsloop.notifications.models import Channel

WRITE_ROLE = Role.approver
READ_ROLE = Role.viewer
SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def channel_view(channel: Channel) -> dict[str, Any]:
    """What the audit trail and the API show of a channel: no secret, no full target."""
    return {
        "name": channel.name,
        "kind": channel.kind.value,
        "target": channel.target_hint,
        "enabled": channel.enabled,
        "rate_limit_per_minute": channel.rate_limit_per_minute,
    }


def list_channels(session: Session) -> list[Channel]:
    return list(session.scalars(select(Channel).order_by(Channel.name)))


def get_channel(session: Session, *, ref: int | str) -> Channel:
    found = (
        session.get(Channel, ref)
        if isinstance(ref, int)
        else session.scalar(select(Channel).where(Channel.name == ref))
    )
    if found is None:
        raise NotFound(f"no notification channel {ref!r}", field="channel")
    return found


def channel_name(session: Session, *, channel_id: int) -> str:
    return session.scalar(select(Channel.name).where(Channel.id == channel_id)) or ""


def checked_target(kind: ChannelKind, target: str, settings: Settings) -> str:
    allow = settings.notifications_allow_private_targets
    if kind is ChannelKind.webhook:
        return targets.check_webhook_url(target, allow_private=allow)
    return targets.check_apprise_url(target, allow_private=allow)


def create_channel(
    session: Session,
    *,
    principal: Principal,
    settings: Settings,
    name: str,
    kind: ChannelKind,
    target: str,
    secret: str | None = None,
    enabled: bool = True,
    rate_limit_per_minute: int = 0,
) -> tuple[Channel, str | None]:
    """The new channel and, for a webhook, its secret (shown this once, never again)."""
    require(principal, WRITE_ROLE)
    if not SLUG.match(name):
        raise ValidationFailed(
            "name: use lower-case letters, digits and dashes (at most 63)", field="name"
        )
    if session.scalar(select(Channel.id).where(Channel.name == name)) is not None:
        raise Conflict(f"a notification channel named {name!r} exists", field="name")
    url = checked_target(kind, target, settings)
    plain_secret: str | None = None
    if kind is ChannelKind.webhook:
        plain_secret = signing.check_secret(secret) if secret else signing.new_secret()
    elif secret:
        raise ValidationFailed("secret: only webhook channels have a secret", field="secret")
    box = box_for(settings)
    now = clock.now()
    channel = Channel(
        name=name,
        kind=kind,
        target=box.seal(url),
        target_hint=targets.hint(url),
        secret=box.seal(plain_secret or ""),
        previous_secret="",
        enabled=enabled,
        disabled_reason="",
        rate_limit_per_minute=rate_limit_per_minute,
        rate_window_count=0,
        failure_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(channel)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="notification.channel.create",
        entity_type="notification_channel",
        entity_id=channel.id,
        after=channel_view(channel),
    )
    return channel, plain_secret


def update_channel(
    session: Session,
    *,
    principal: Principal,
    settings: Settings,
    ref: int | str,
    target: str | None = None,
    enabled: bool | None = None,
    rate_limit_per_minute: int | None = None,
) -> Channel:
    require(principal, WRITE_ROLE)
    channel = get_channel(session, ref=ref)
    before = channel_view(channel)
    if target is not None:
        url = checked_target(channel.kind, target, settings)
        channel.target = box_for(settings).seal(url)
        channel.target_hint = targets.hint(url)
    if enabled is not None:
        channel.enabled = enabled
        if enabled:
            channel.disabled_reason, channel.failure_count = "", 0
    if rate_limit_per_minute is not None:
        channel.rate_limit_per_minute = rate_limit_per_minute
    channel.updated_at = clock.now()
    audit.record(
        session,
        principal=principal,
        action="notification.channel.update",
        entity_type="notification_channel",
        entity_id=channel.id,
        before=before,
        after=channel_view(channel),
    )
    return channel


def delete_channel(session: Session, *, principal: Principal, ref: int | str) -> None:
    require(principal, WRITE_ROLE)
    channel = get_channel(session, ref=ref)
    audit.record(
        session,
        principal=principal,
        action="notification.channel.delete",
        entity_type="notification_channel",
        entity_id=channel.id,
        before=channel_view(channel),
    )
    session.delete(channel)


def rotate_secret(
    session: Session,
    *,
    principal: Principal,
    settings: Settings,
    ref: int | str,
    secret: str | None = None,
) -> tuple[Channel, str]:
    """A new signing secret; the old one is signed with too for the grace period
    (``OPSLOOP_NOTIFICATION_SECRET_GRACE_HOURS``) so receivers can switch without a gap."""
    require(principal, WRITE_ROLE)
    channel = get_channel(session, ref=ref)
    if channel.kind is not ChannelKind.webhook:
        raise ValidationFailed("channel: only webhook channels have a secret", field="channel")
    new = signing.check_secret(secret) if secret else signing.new_secret()
    now = clock.now()
    channel.previous_secret = channel.secret
    channel.previous_expires_at = now + timedelta(hours=settings.notification_secret_grace_hours)
    channel.secret = box_for(settings).seal(new)
    channel.updated_at = now
    audit.record(
        session,
        principal=principal,
        action="notification.channel.rotate_secret",
        entity_type="notification_channel",
        entity_id=channel.id,
        after={"previous_valid_until": channel.previous_expires_at.isoformat()},
    )
    return channel, new
