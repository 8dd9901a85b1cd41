"""generation counters, moved by triggers on the tables they cover

The SLO list and pages keep their rendered answers per process and check one counter instead of
reading a page of rows; the counter "slos" moves with every write to slos and slo_evaluations.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: counter name -> the tables whose writes move it
COVERED = {"slos": ("slos", "slo_evaluations")}
_OPS = ("insert", "update", "delete")

# SQLite has row triggers only: a statement that changes n rows moves the counter n times,
# which is as good (the value only has to change). A counter row removed by hand comes back
# instead of the triggers silently updating nothing; not with INSERT OR IGNORE: an outer
# statement's conflict policy overrides a trigger's, so under an upsert it would fail.
_SQLITE = """
CREATE TRIGGER {table}_moves_{name}_on_{op} AFTER {OP} ON {table}
BEGIN
  INSERT INTO generations (name, value) SELECT '{name}', 0
  WHERE NOT EXISTS (SELECT 1 FROM generations WHERE name = '{name}');
  UPDATE generations SET value = value + 1 WHERE name = '{name}';
END
"""
_PG_FUNC = """
CREATE FUNCTION opsloop_move_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO generations (name, value) VALUES (TG_ARGV[0], 1)
  ON CONFLICT (name) DO UPDATE SET value = generations.value + 1;
  RETURN NULL;
END $$
"""
# Once per statement, not per row: an evaluation that stores 1,000 results moves it once.
_PG = """
CREATE TRIGGER {table}_moves_{name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION opsloop_move_generation('{name}')
"""


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_generations")),
    )
    op.bulk_insert(
        sa.table("generations", sa.column("name", sa.String), sa.column("value", sa.BigInteger)),
        [{"name": name, "value": 1} for name in COVERED],
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(_PG_FUNC)
    for name, tables in COVERED.items():
        for table in tables:
            if postgres:
                op.execute(_PG.format(table=table, name=name))
                continue
            for each in _OPS:
                op.execute(_SQLITE.format(table=table, name=name, op=each, OP=each.upper()))


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, tables in COVERED.items():
        for table in tables:
            if postgres:
                op.execute(f"DROP TRIGGER {table}_moves_{name} ON {table}")
                continue
            for each in _OPS:
                op.execute(f"DROP TRIGGER {table}_moves_{name}_on_{each}")
    if postgres:
        op.execute("DROP FUNCTION opsloop_move_generation()")
    op.drop_table("generations")
