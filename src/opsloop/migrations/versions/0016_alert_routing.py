"""alert routing: rules, routed causes, the routing state of each alert, silences

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("routed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("route_rule_id", sa.Integer(), nullable=True))
    op.create_index("ix_alerts_routed_at_starts_at", "alerts", ["routed_at", "starts_at"])
    # Alerts stored before routing existed are not routed now: a storm of old incidents
    # would be declared by the first rule added.
    op.execute(sa.text("UPDATE alerts SET routed_at = received_at"))
    op.create_table(
        "alert_routes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("matchers", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("fallback_declare", sa.Boolean(), nullable=False),
        sa.Column("continue_matching", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_alert_routes_position", "alert_routes", ["position"])
    op.create_table(
        "alert_route_causes",
        sa.Column("rule_id", sa.Integer(), primary_key=True),
        sa.Column("service", sa.String(63), primary_key=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "alert_silences",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alertmanager_id", sa.String(64), nullable=False, unique=True),
        sa.Column("matchers", sa.Text(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("expired_at", UTCDateTime(), nullable=True),
        sa.Column("expired_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_alert_silences_ends_at", "alert_silences", ["ends_at"])


def downgrade() -> None:
    op.drop_index("ix_alert_silences_ends_at", table_name="alert_silences")
    op.drop_table("alert_silences")
    op.drop_table("alert_route_causes")
    op.drop_index("ix_alert_routes_position", table_name="alert_routes")
    op.drop_table("alert_routes")
    op.drop_index("ix_alerts_routed_at_starts_at", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("route_rule_id")
        batch.drop_column("routed_at")
