"""slo_event_pushes: one row per push instead of one per SLO, the SLOs it covered in ``slos``
(JSON, see opsloop.slo.push_records); no index on (slo_id, received_at)

Every existing row becomes a push record covering its one SLO, with its id, time, actor, request
id and minutes unchanged. The downgrade gives each SLO of a record its own row again (records
naming SLOs deleted since are left out, as the old foreign key would have removed them).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_FK = "fk_slo_event_pushes_slo_id_slos"
_INDEX = "ix_slo_event_pushes_slo_received"

# The JSON that opsloop.slo.push_records.encode writes for one SLO.
_COVERAGE = {
    "sqlite": """
    UPDATE slo_event_pushes SET slos = json_array(json_object(
        'first', strftime('%Y-%m-%dT%H:%M:%S+00:00', first_minute),
        'last', strftime('%Y-%m-%dT%H:%M:%S+00:00', last_minute),
        'minutes', minutes,
        'slos', json_array(slo_id)
    ))
    """,
    "postgresql": """
    UPDATE slo_event_pushes SET slos = json_build_array(json_build_object(
        'first', to_char(first_minute AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
        'last', to_char(last_minute AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
        'minutes', minutes,
        'slos', json_build_array(slo_id)
    ))::text
    """,
}

# One row per SLO of each record, added beside the records (which are then deleted).
_ONE_PER_SLO = {
    "sqlite": """
    INSERT INTO slo_event_pushes
        (slo_id, received_at, actor, request_id, minutes, first_minute, last_minute, slos)
    SELECT s.value, p.received_at, p.actor, p.request_id, json_extract(g.value, '$.minutes'),
           strftime('%Y-%m-%d %H:%M:%S.000000', json_extract(g.value, '$.first')),
           strftime('%Y-%m-%d %H:%M:%S.000000', json_extract(g.value, '$.last')),
           ''
    FROM slo_event_pushes AS p, json_each(p.slos) AS g, json_each(g.value, '$.slos') AS s
    WHERE p.slo_id IS NULL AND s.value IN (SELECT id FROM slos)
    ORDER BY p.id, s.value
    """,
    "postgresql": """
    INSERT INTO slo_event_pushes
        (slo_id, received_at, actor, request_id, minutes, first_minute, last_minute, slos)
    SELECT s.value::integer, p.received_at, p.actor, p.request_id,
           (g.value ->> 'minutes')::integer,
           (g.value ->> 'first')::timestamptz, (g.value ->> 'last')::timestamptz, ''
    FROM slo_event_pushes AS p
    CROSS JOIN LATERAL json_array_elements(p.slos::json) AS g(value)
    CROSS JOIN LATERAL json_array_elements_text(g.value -> 'slos') AS s(value)
    WHERE p.slo_id IS NULL AND s.value::integer IN (SELECT id FROM slos)
    ORDER BY p.id, s.value::integer
    """,
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index(_INDEX, table_name="slo_event_pushes")
    with op.batch_alter_table("slo_event_pushes") as batch:
        batch.add_column(sa.Column("slos", sa.Text, nullable=True))
    op.execute(_COVERAGE[dialect])
    with op.batch_alter_table("slo_event_pushes") as batch:
        batch.alter_column("slos", existing_type=sa.Text, nullable=False)
        batch.drop_constraint(_FK, type_="foreignkey")
        batch.drop_column("slo_id")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("slo_event_pushes") as batch:
        batch.add_column(sa.Column("slo_id", sa.Integer, nullable=True))
    op.execute(_ONE_PER_SLO[dialect])
    op.execute("DELETE FROM slo_event_pushes WHERE slo_id IS NULL")
    with op.batch_alter_table("slo_event_pushes") as batch:
        batch.alter_column("slo_id", existing_type=sa.Integer, nullable=False)
        batch.create_foreign_key(_FK, "slos", ["slo_id"], ["id"], ondelete="CASCADE")
        batch.drop_column("slos")
    op.create_index(_INDEX, "slo_event_pushes", ["slo_id", "received_at"])
