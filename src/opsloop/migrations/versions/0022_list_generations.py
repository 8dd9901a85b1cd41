"""generation counters of the incident, alert, change and action item lists

The lists keep their answers per process like the SLO list (0008) and check one counter instead
of reading a page of rows. A counter covers every table its answers read: the rows shown, what
they show beside them, and what their filters look up (a team's services or members, an
incident by key), so a write to any of them makes the next answer fresh.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

#: counter name -> the tables whose writes move it
COVERED = {
    # Rows and their services; the team filter reads teams and the services they own, and the
    # list page shows the catalog's service and team names in its filter form.
    "incidents": ("incidents", "incident_services", "services", "teams"),
    "alerts": ("alerts",),
    "changes": ("changes",),
    # Items, their notes and escalations; the team filter reads teams and their members, the
    # incident filter finds the incident by key.
    "action_items": (
        "action_items",
        "action_item_notes",
        "action_item_escalations",
        "teams",
        "team_members",
        "incidents",
    ),
}
_OPS = ("insert", "update", "delete")

# The triggers of 0008, for these counters (it explains their shape): row triggers on SQLite,
# statement triggers calling 0008's function opsloop_move_generation on PostgreSQL.
_SQLITE = """
CREATE TRIGGER {table}_moves_{name}_on_{op} AFTER {OP} ON {table}
BEGIN
  INSERT INTO generations (name, value) SELECT '{name}', 0
  WHERE NOT EXISTS (SELECT 1 FROM generations WHERE name = '{name}');
  UPDATE generations SET value = value + 1 WHERE name = '{name}';
END
"""
_PG = """
CREATE TRIGGER {table}_moves_{name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
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
    generations = sa.table("generations", sa.column("name", sa.String))
    op.execute(generations.delete().where(generations.c.name.in_(list(COVERED))))
