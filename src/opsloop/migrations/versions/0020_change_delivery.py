"""change delivery: what a pipeline records of a deployment (version, commit, when it was
committed, the pipeline run) and the key that makes recording it twice a no-op

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.add_column(sa.Column("version", sa.String(100), nullable=True))
        batch.add_column(sa.Column("commit_sha", sa.String(64), nullable=True))
        batch.add_column(sa.Column("committed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("pipeline_run", sa.String(200), nullable=True))
        batch.add_column(sa.Column("record_key", sa.String(400), nullable=True))
    op.create_index("uq_changes_record_key", "changes", ["record_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_changes_record_key", table_name="changes")
    with op.batch_alter_table("changes") as batch:
        for name in ("record_key", "pipeline_run", "committed_at", "commit_sha", "version"):
            batch.drop_column(name)
