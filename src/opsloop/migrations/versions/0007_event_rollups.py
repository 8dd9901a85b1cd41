"""slo events: hour and day roll-ups instead of running totals

A late minute used to rewrite the running totals of every later minute; now it changes its own
row, its hour and its UTC day. The roll-ups are filled from the stored minutes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ROLLUPS = {"slo_event_hours": "hour", "slo_event_days": "day"}

# Where each minute's hour and day start, in UTC, as the column type stores them: PostgreSQL
# timestamptz, SQLite text "YYYY-MM-DD HH:MM:SS.ffffff".
_TRUNCATE = {
    "postgresql": {
        "hour": "date_trunc('hour', minute, 'UTC')",
        "day": "date_trunc('day', minute, 'UTC')",
    },
    "sqlite": {
        "hour": "substr(minute, 1, 13) || ':00:00.000000'",
        "day": "substr(minute, 1, 10) || ' 00:00:00.000000'",
    },
}

_RUNNING_TOTALS = """
UPDATE slo_event_buckets
SET cum_good = running.cum_good, cum_total = running.cum_total
FROM (
    SELECT slo_id, minute,
           SUM(good) OVER (PARTITION BY slo_id ORDER BY minute ROWS UNBOUNDED PRECEDING)
               AS cum_good,
           SUM(total) OVER (PARTITION BY slo_id ORDER BY minute ROWS UNBOUNDED PRECEDING)
               AS cum_total
    FROM slo_event_buckets
) AS running
WHERE slo_event_buckets.slo_id = running.slo_id AND slo_event_buckets.minute = running.minute
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, key in _ROLLUPS.items():
        op.create_table(
            table,
            sa.Column(
                "slo_id",
                sa.Integer,
                sa.ForeignKey("slos.id", ondelete="CASCADE", name=f"fk_{table}_slo_id_slos"),
                primary_key=True,
            ),
            sa.Column(key, UTCDateTime(), primary_key=True),
            sa.Column("good", sa.BigInteger, nullable=False),
            sa.Column("total", sa.BigInteger, nullable=False),
            sqlite_with_rowid=False,
        )
        start = _TRUNCATE[dialect][key]
        # Names and expressions are the constants above.
        fill = f"INSERT INTO {table} (slo_id, {key}, good, total) SELECT slo_id, {start}, "
        op.execute(f"{fill}SUM(good), SUM(total) FROM slo_event_buckets GROUP BY slo_id, {start}")
    with op.batch_alter_table(
        "slo_event_buckets", table_kwargs={"sqlite_with_rowid": False}
    ) as batch:
        batch.drop_column("cum_total")
        batch.drop_column("cum_good")


def downgrade() -> None:
    with op.batch_alter_table(
        "slo_event_buckets", table_kwargs={"sqlite_with_rowid": False}
    ) as batch:
        for column in ("cum_good", "cum_total"):
            batch.add_column(sa.Column(column, sa.BigInteger, nullable=False, server_default="0"))
    op.execute(_RUNNING_TOTALS)
    with op.batch_alter_table(
        "slo_event_buckets", table_kwargs={"sqlite_with_rowid": False}
    ) as batch:
        for column in ("cum_good", "cum_total"):
            batch.alter_column(column, existing_type=sa.BigInteger, server_default=None)
    for table in _ROLLUPS:
        op.drop_table(table)
