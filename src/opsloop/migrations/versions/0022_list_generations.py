"""generation counters of the incident, alert, change and action item lists

The lists keep their answers per process like the SLO list (0008) and check one counter instead
of reading a page of rows. A counter covers every table its answers read: the rows shown, what
they show beside them, and what their filters look up (a team's services or members, an
incident by key), so a write to any of them makes the next answer fresh. On PostgreSQL the
counters move when a transaction commits, not at its first write (see _PG_FUNC).

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

# SQLite: the row triggers of 0008 (it explains their shape); a write there holds the
# database's one write lock anyway.
_SQLITE = """
CREATE TRIGGER {table}_moves_{name}_on_{op} AFTER {OP} ON {table}
BEGIN
  INSERT INTO generations (name, value) SELECT '{name}', 0
  WHERE NOT EXISTS (SELECT 1 FROM generations WHERE name = '{name}');
  UPDATE generations SET value = value + 1 WHERE name = '{name}';
END
"""
# PostgreSQL: moved at commit, once per transaction. Data-plane transactions write these tables
# without the audit lock (alert webhooks, the alert escalation and routing jobs, the action
# item escalation job) and lock rows statement by statement; a counter locked at their first
# statement, as 0008's statement triggers do, would be held while they lock more rows, and two
# of them (or one and an acknowledgement) could wait for each other. Deferred to the commit, it
# is the last lock such a transaction takes, when it waits for nothing else; each of them moves
# one counter. The setting is local to the transaction (rolled back with it and with a
# rolled-back savepoint): the first row moves the counter, the others only check it.
_PG_FUNC = """
CREATE FUNCTION opsloop_move_generation_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('opsloop.moved_' || TG_ARGV[0], true) = 'yes' THEN
    RETURN NULL;
  END IF;
  PERFORM set_config('opsloop.moved_' || TG_ARGV[0], 'yes', true);
  INSERT INTO generations (name, value) VALUES (TG_ARGV[0], 1)
  ON CONFLICT (name) DO UPDATE SET value = generations.value + 1;
  RETURN NULL;
END $$
"""
_PG = """
CREATE CONSTRAINT TRIGGER {table}_moves_{name} AFTER INSERT OR UPDATE OR DELETE ON {table}
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION opsloop_move_generation_at_commit('{name}')
"""
# A constraint trigger cannot fire on TRUNCATE (which locks the whole table anyway): 0008's.
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
    if postgres:
        op.execute(_PG_FUNC)
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
    if postgres:
        op.execute("DROP FUNCTION opsloop_move_generation_at_commit()")
    generations = sa.table("generations", sa.column("name", sa.String))
    op.execute(generations.delete().where(generations.c.name.in_(list(COVERED))))
