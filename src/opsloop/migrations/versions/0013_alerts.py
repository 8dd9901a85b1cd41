"""alerts: alert instances from Alertmanager and the webhook deliveries that brought them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("severity", sa.String(32), nullable=False),
        sa.Column("service", sa.String(63), nullable=True),
        sa.Column("slo_id", sa.Integer(), nullable=True),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("annotations", sa.Text(), nullable=False),
        sa.Column("generator_url", sa.Text(), nullable=False),
        sa.Column("receiver", sa.String(1024), nullable=False),
        sa.Column("respond_by", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("received_by", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("resolved_request_id", sa.String(64), nullable=False),
        sa.Column("acked_at", UTCDateTime(), nullable=True),
        sa.Column("acked_by", sa.String(200), nullable=False),
        sa.Column("ack_seconds", sa.Integer(), nullable=True),
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
        sa.Column("feedback", sa.String(16), nullable=True),
        sa.Column("feedback_action", sa.Text(), nullable=False),
        sa.Column("feedback_by", sa.String(200), nullable=False),
        sa.Column("feedback_at", UTCDateTime(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.UniqueConstraint("fingerprint", "starts_at", name="uq_alerts_fingerprint_starts_at"),
    )
    op.create_index("ix_alerts_status_starts_at", "alerts", ["status", "starts_at"])
    op.create_index("ix_alerts_respond_by", "alerts", ["respond_by"])
    op.create_index("ix_alerts_name", "alerts", ["name"])
    op.create_index("ix_alerts_service", "alerts", ["service"])
    op.create_index("ix_alerts_incident_id", "alerts", ["incident_id"])
    op.create_table(
        "alert_receipts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("received_by", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("receiver", sa.String(1024), nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column("firing", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
    )
    op.create_index("ix_alert_receipts_received_at", "alert_receipts", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_alert_receipts_received_at", table_name="alert_receipts")
    op.drop_table("alert_receipts")
    op.drop_index("ix_alerts_incident_id", table_name="alerts")
    op.drop_index("ix_alerts_service", table_name="alerts")
    op.drop_index("ix_alerts_name", table_name="alerts")
    op.drop_index("ix_alerts_respond_by", table_name="alerts")
    op.drop_index("ix_alerts_status_starts_at", table_name="alerts")
    op.drop_table("alerts")
