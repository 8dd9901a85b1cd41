"""generation counter of the error-budget policies

A service's budget state (what change management asks before a deploy) is kept per process
until something it reads moves: the service (counter "services", 0023), its SLOs and their
evaluations ("slos", 0008) and its error-budget policy, which this counter covers. It moves as
0022's do: once per transaction when it commits on PostgreSQL (with 0022's function), at each
row on SQLite.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

#: counter name -> the tables whose writes move it
COVERED = {"budget_policies": ("slo_service_policies",)}
_OPS = ("insert", "update", "delete")

_SQLITE = """
CREATE TRIGGER {table}_moves_{name}_on_{op} AFTER {OP} ON {table}
BEGIN
  INSERT INTO generations (name, value) SELECT '{name}', 0
  WHERE NOT EXISTS (SELECT 1 FROM generations WHERE name = '{name}');
  UPDATE generations SET value = value + 1 WHERE name = '{name}';
END
"""
_PG = """
CREATE CONSTRAINT TRIGGER {table}_moves_{name} AFTER INSERT OR UPDATE OR DELETE ON {table}
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION opsloop_move_generation_at_commit('{name}')
"""
_PG_TRUNCATE = """
CREATE TRIGGER {table}_moves_{name}_on_truncate AFTER TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION opsloop_move_generation('{name}')
"""


def upgrade() -> None:
    op.bulk_insert(
        sa.table("generations", sa.column("name", sa.String), sa.column("value", sa.BigInteger)),
        [{"name": name, "value": 1} for name in COVERED],
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, tables in COVERED.items():
        for table in tables:
            if postgres:
                op.execute(_PG.format(table=table, name=name))
                op.execute(_PG_TRUNCATE.format(table=table, name=name))
                continue
            for each in _OPS:
                op.execute(_SQLITE.format(table=table, name=name, op=each, OP=each.upper()))


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, tables in COVERED.items():
        for table in tables:
            if postgres:
                op.execute(f"DROP TRIGGER {table}_moves_{name} ON {table}")
                op.execute(f"DROP TRIGGER {table}_moves_{name}_on_truncate ON {table}")
                continue
            for each in _OPS:
                op.execute(f"DROP TRIGGER {table}_moves_{name}_on_{each}")
    generations = sa.table("generations", sa.column("name", sa.String))
    op.execute(generations.delete().where(generations.c.name.in_(list(COVERED))))
