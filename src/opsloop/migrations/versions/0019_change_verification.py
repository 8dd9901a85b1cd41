"""change verification: SLI comparisons before and after a change, the verification claim and
verdict on the change, alert silences for change windows, and the change an incident names as
its cause

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.add_column(sa.Column("verification", sa.String(16), nullable=True))
        batch.add_column(sa.Column("verified_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("verification_claimed_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("silence_alerts", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("silence_matchers", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("silence_id", sa.Integer, nullable=True))
    op.create_table(
        "change_verifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "change_id",
            sa.Integer,
            sa.ForeignKey(
                "changes.id", ondelete="CASCADE", name="fk_change_verifications_change_id_changes"
            ),
            nullable=False,
        ),
        sa.Column("slo_id", sa.Integer, nullable=False),
        sa.Column("slo_ref", sa.String(127), nullable=False),
        sa.Column("objective", sa.Float, nullable=False),
        sa.Column("before_ratio", sa.Float, nullable=True),
        sa.Column("after_ratio", sa.Float, nullable=True),
        sa.Column("burn_before", sa.Float, nullable=True),
        sa.Column("burn_after", sa.Float, nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("checked_by", sa.String(100), nullable=False),
    )
    op.create_index(
        "ix_change_verifications_change_checked",
        "change_verifications",
        ["change_id", "checked_at"],
    )
    op.create_index("ix_changes_finished_at", "changes", ["finished_at"])
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("caused_by_change", sa.String(16), nullable=True))
    op.create_index("ix_incidents_caused_by_change", "incidents", ["caused_by_change"])


def downgrade() -> None:
    op.drop_index("ix_incidents_caused_by_change", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("caused_by_change")
    op.drop_index("ix_changes_finished_at", table_name="changes")
    op.drop_index("ix_change_verifications_change_checked", table_name="change_verifications")
    op.drop_table("change_verifications")
    with op.batch_alter_table("changes") as batch:
        for name in (
            "silence_id",
            "silence_matchers",
            "silence_alerts",
            "verification_claimed_at",
            "verified_at",
            "verification",
        ):
            batch.drop_column(name)
