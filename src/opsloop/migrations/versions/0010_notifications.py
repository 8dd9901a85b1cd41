"""notifications: channels, subscriptions, the outbox and its delivery attempts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("target_hint", sa.String(300), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=False),
        sa.Column("previous_expires_at", UTCDateTime(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(500), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        sa.Column("rate_window_start", UTCDateTime(), nullable=True),
        sa.Column("rate_window_count", sa.Integer(), nullable=False),
        sa.Column("last_delivery_at", UTCDateTime(), nullable=True),
        sa.Column("last_latency_ms", sa.Integer(), nullable=True),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_notification_channels_name"),
    )
    op.create_table(
        "notification_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "channel_id",
            sa.Integer(),
            sa.ForeignKey(
                "notification_channels.id",
                ondelete="CASCADE",
                name="fk_notification_subscriptions_channel_id_notification_channels",
            ),
            nullable=False,
        ),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("service", sa.String(63), nullable=True),
        sa.Column("team", sa.String(63), nullable=True),
        sa.Column("tier", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_notification_subscriptions_channel_id", "notification_subscriptions", ["channel_id"]
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "channel_id",
            sa.Integer(),
            sa.ForeignKey(
                "notification_channels.id",
                ondelete="CASCADE",
                name="fk_notification_outbox_channel_id_notification_channels",
            ),
            nullable=False,
        ),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.UniqueConstraint("webhook_id", name="uq_notification_outbox_webhook_id"),
    )
    op.create_index("ix_notification_outbox_channel_id", "notification_outbox", ["channel_id"])
    op.create_index(
        "ix_notification_outbox_due", "notification_outbox", ["state", "next_attempt_at"]
    )
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "outbox_id",
            sa.Integer(),
            sa.ForeignKey(
                "notification_outbox.id",
                ondelete="CASCADE",
                name="fk_notification_attempts_outbox_id_notification_outbox",
            ),
            nullable=False,
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(1000), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
    )
    op.create_index("ix_notification_attempts_outbox_id", "notification_attempts", ["outbox_id"])


def downgrade() -> None:
    op.drop_table("notification_attempts")
    op.drop_table("notification_outbox")
    op.drop_table("notification_subscriptions")
    op.drop_table("notification_channels")
