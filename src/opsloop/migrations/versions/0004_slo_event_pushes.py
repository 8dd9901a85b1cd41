"""slo_event_pushes: who pushed which minutes, kept out of the audit trail

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slo_event_pushes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "slo_id",
            sa.Integer,
            sa.ForeignKey("slos.id", ondelete="CASCADE", name="fk_slo_event_pushes_slo_id_slos"),
            nullable=False,
        ),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("first_minute", UTCDateTime(), nullable=False),
        sa.Column("last_minute", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_slo_event_pushes_slo_received", "slo_event_pushes", ["slo_id", "received_at"]
    )


def downgrade() -> None:
    op.drop_table("slo_event_pushes")
