"""changes: change requests with their CAB decisions and field history, the per-year key
counter, and freeze periods

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def _user(name: str) -> sa.Column[str]:
    return sa.Column(
        name,
        sa.String(64),
        sa.ForeignKey("users.username", ondelete="SET NULL", name=f"fk_changes_{name}_users"),
        nullable=True,
    )


def _change_id(table: str) -> sa.Column[int]:
    return sa.Column(
        "change_id",
        sa.Integer,
        sa.ForeignKey("changes.id", ondelete="CASCADE", name=f"fk_{table}_change_id_changes"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "change_counters",
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_number", sa.Integer, nullable=False),
    )
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("model", sa.String(16), nullable=False),
        sa.Column("risk", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("impact_analysis", sa.Text, nullable=False),
        sa.Column("rollback_plan", sa.Text, nullable=False),
        _user("requester"),
        _user("implementer"),
        sa.Column("window_start", UTCDateTime(), nullable=True),
        sa.Column("window_end", UTCDateTime(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("outcome_reason", sa.Text, nullable=False),
        sa.Column("incident_key", sa.String(16), nullable=True),
        sa.Column("gate_override_by", sa.String(100), nullable=True),
        sa.Column("gate_override_reason", sa.Text, nullable=False),
        sa.Column("gate_override_at", UTCDateTime(), nullable=True),
        sa.Column("warnings", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("key", name="uq_changes_key"),
    )
    op.create_index("uq_changes_year_number", "changes", ["year", "number"], unique=True)
    op.create_index("ix_changes_service_window", "changes", ["service", "window_start"])
    op.create_index("ix_changes_state", "changes", ["state"])
    op.create_index("ix_changes_created_at", "changes", ["created_at"])
    op.create_table(
        "change_approvals",
        sa.Column("id", sa.Integer, primary_key=True),
        _change_id("change_approvals"),
        sa.Column("approver", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "uq_change_approvals_change_approver",
        "change_approvals",
        ["change_id", "approver"],
        unique=True,
    )
    op.create_table(
        "change_history",
        sa.Column("id", sa.Integer, primary_key=True),
        _change_id("change_history"),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_index("ix_change_history_change_at", "change_history", ["change_id", "at"])
    op.create_table(
        "freezes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("service", sa.String(63), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_freezes_starts_at", "freezes", ["starts_at"])


def downgrade() -> None:
    op.drop_index("ix_freezes_starts_at", table_name="freezes")
    op.drop_table("freezes")
    op.drop_index("ix_change_history_change_at", table_name="change_history")
    op.drop_table("change_history")
    op.drop_index("uq_change_approvals_change_approver", table_name="change_approvals")
    op.drop_table("change_approvals")
    op.drop_index("ix_changes_created_at", table_name="changes")
    op.drop_index("ix_changes_state", table_name="changes")
    op.drop_index("ix_changes_service_window", table_name="changes")
    op.drop_index("uq_changes_year_number", table_name="changes")
    op.drop_table("changes")
    op.drop_table("change_counters")
