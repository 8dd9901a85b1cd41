"""action items: the follow-up work of an incident's review, its notes and its escalations

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "incident_id",
            sa.Integer(),
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("incident_key", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_user", sa.String(100), nullable=True),
        sa.Column("owner_team", sa.String(63), nullable=True),
        sa.Column("priority", sa.String(4), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "(owner_user IS NULL) <> (owner_team IS NULL)", name="ck_action_items_one_owner"
        ),
    )
    op.create_index("ix_action_items_incident_id", "action_items", ["incident_id"])
    op.create_index("ix_action_items_status_due_on", "action_items", ["status", "due_on"])
    op.create_index("ix_action_items_owner_user", "action_items", ["owner_user"])
    op.create_index("ix_action_items_owner_team", "action_items", ["owner_team"])
    op.create_table(
        "action_item_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("action_items.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status_change", sa.String(40), nullable=False),
    )
    op.create_index("ix_action_item_notes_item_id", "action_item_notes", ["item_id"])
    op.create_table(
        "action_item_escalations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("action_items.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("notified_to", sa.String(500), nullable=False),
        sa.Column("teams", sa.String(500), nullable=False),
    )
    op.create_index(
        "uq_action_item_escalations_item_level",
        "action_item_escalations",
        ["item_id", "level"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("action_item_escalations")
    op.drop_table("action_item_notes")
    op.drop_table("action_items")
