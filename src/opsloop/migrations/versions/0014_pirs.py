"""pirs: post-incident reviews, their published revisions and overdue announcements

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pirs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "incident_id",
            sa.Integer(),
            sa.ForeignKey("incidents.id", ondelete="CASCADE", name="fk_pirs_incident_id_incidents"),
            nullable=False,
        ),
        sa.Column("incident_key", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("review_meeting", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("incident_id", name="uq_pirs_incident_id"),
        sa.UniqueConstraint("incident_key", name="uq_pirs_incident_key"),
    )
    op.create_index("ix_pirs_state", "pirs", ["state"])
    op.create_table(
        "pir_revisions",
        sa.Column(
            "pir_id",
            sa.Integer(),
            sa.ForeignKey("pirs.id", ondelete="CASCADE", name="fk_pir_revisions_pir_id_pirs"),
            primary_key=True,
        ),
        sa.Column("revision", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("review_meeting", sa.Text(), nullable=True),
        sa.Column("published_by", sa.String(100), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "pir_overdue_notices",
        sa.Column(
            "incident_id",
            sa.Integer(),
            sa.ForeignKey(
                "incidents.id",
                ondelete="CASCADE",
                name="fk_pir_overdue_notices_incident_id_incidents",
            ),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("announced_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pir_overdue_notices")
    op.drop_table("pir_revisions")
    op.drop_index("ix_pirs_state", table_name="pirs")
    op.drop_table("pirs")
