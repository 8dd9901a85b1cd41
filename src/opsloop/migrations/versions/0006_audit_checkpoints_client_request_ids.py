"""audit: client request ids beside the server's, verification checkpoints, TRUNCATE guard

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# UPDATE and DELETE are refused row by row since 0001; TRUNCATE bypasses row triggers.
_NO_TRUNCATE_PG = """
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
FOR EACH STATEMENT EXECUTE FUNCTION opsloop_audit_append_only()
"""


def upgrade() -> None:
    op.add_column(
        "audit_records",
        sa.Column("client_request_id", sa.String(64), nullable=False, server_default=""),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NO_TRUNCATE_PG)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_truncate ON audit_records")
    op.drop_table("audit_checkpoints")
    op.drop_column("audit_records", "client_request_id")
