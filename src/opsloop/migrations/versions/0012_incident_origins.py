"""incidents declared by machines: where each came from (one per firing alert), when an
overdue update was last announced, and the per-service switch for SLO alerts to declare

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("origin", sa.String(200), nullable=True))
        batch.add_column(sa.Column("overdue_announced_at", UTCDateTime(), nullable=True))
        batch.create_index("uq_incidents_origin", ["origin"], unique=True)
    op.create_table(
        "incident_auto_declare",
        sa.Column("service", sa.String(63), primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("incident_auto_declare")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index("uq_incidents_origin")
        batch.drop_column("overdue_announced_at")
        batch.drop_column("origin")
