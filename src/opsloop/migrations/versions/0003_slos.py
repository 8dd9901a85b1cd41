"""slos: definitions, pushed minute buckets, budget periods, evaluations, alert history, policies

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _slo_fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey("slos.id", ondelete="CASCADE", name=f"fk_{table}_slo_id_slos")


def upgrade() -> None:
    op.create_table(
        "slos",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("objective", sa.Float, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("period_started_at", UTCDateTime(), nullable=False),
        sa.Column("policy_state", sa.String(32), nullable=False),
        sa.Column("policy_state_since", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("uq_slos_service_name", "slos", ["service", "name"], unique=True)
    op.create_table(
        "slo_event_buckets",
        sa.Column("slo_id", sa.Integer, _slo_fk("slo_event_buckets"), primary_key=True),
        sa.Column("minute", UTCDateTime(), primary_key=True),
        sa.Column("good", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("cum_good", sa.BigInteger, nullable=False),
        sa.Column("cum_total", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "slo_budget_periods",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slo_id", sa.Integer, _slo_fk("slo_budget_periods"), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("started_by", sa.String(100), nullable=False),
    )
    op.create_index("ix_slo_budget_periods_slo_id", "slo_budget_periods", ["slo_id"])
    op.create_table(
        "slo_evaluations",
        sa.Column("slo_id", sa.Integer, _slo_fk("slo_evaluations"), primary_key=True),
        sa.Column("evaluated_at", UTCDateTime(), nullable=False),
        sa.Column("result", sa.Text, nullable=False),
    )
    op.create_table(
        "slo_alert_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slo_id", sa.Integer, _slo_fk("slo_alert_events"), nullable=False),
        sa.Column("alert", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("firing", sa.Boolean, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("factor", sa.Float, nullable=False),
        sa.Column("long_burn", sa.Float, nullable=True),
        sa.Column("short_burn", sa.Float, nullable=True),
    )
    op.create_index("ix_slo_alert_events_slo_at", "slo_alert_events", ["slo_id", "at"])
    op.create_table(
        "slo_service_policies",
        sa.Column("service", sa.String(63), primary_key=True),
        sa.Column("tiers", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "slo_service_policies",
        "slo_alert_events",
        "slo_evaluations",
        "slo_budget_periods",
        "slo_event_buckets",
        "slos",
    ):
        op.drop_table(table)
