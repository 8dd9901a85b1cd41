"""services and teams: the catalog, with one implicit service per service SLOs already name

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core import clock
from opsloop.core.db import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("chat_channel", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("origin_source", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_teams_name"),
    )
    op.create_table(
        "team_members",
        sa.Column(
            "team_id",
            sa.Integer,
            sa.ForeignKey("teams.id", ondelete="CASCADE", name="fk_team_members_team_id_teams"),
            primary_key=True,
        ),
        sa.Column(
            "username",
            sa.String(64),
            sa.ForeignKey(
                "users.username", ondelete="CASCADE", name="fk_team_members_username_users"
            ),
            primary_key=True,
        ),
        sa.Column("role", sa.String(16), nullable=False),
    )
    services = op.create_table(
        "services",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column(
            "owner_team_id",
            sa.Integer,
            sa.ForeignKey("teams.id", name="fk_services_owner_team_id_teams"),
            nullable=True,
        ),
        sa.Column("tier", sa.Integer, nullable=True),
        sa.Column("lifecycle", sa.String(16), nullable=False),
        sa.Column("links", sa.Text, nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("origin_source", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_services_name"),
    )
    op.create_index("ix_services_owner_team_id", "services", ["owner_team_id"])
    op.create_index("ix_services_tier_lifecycle", "services", ["tier", "lifecycle"])
    _backfill(services)


def _backfill(services: sa.Table | None) -> None:
    """Every service an SLO already names becomes an implicit, unowned catalog entry."""
    assert services is not None
    slos = sa.table("slos", sa.column("service", sa.String))
    names = op.get_bind().scalars(sa.select(slos.c.service).distinct().order_by(slos.c.service))
    now = clock.now()
    rows = [
        {
            "name": name,
            "display_name": "",
            "description": "",
            "owner_team_id": None,
            "tier": None,
            "lifecycle": "production",
            "links": "[]",
            "labels": "{}",
            "origin": "implicit",
            "origin_source": "slo",
            "created_at": now,
            "updated_at": now,
        }
        for name in names
    ]
    if rows:
        op.bulk_insert(services, rows)


def downgrade() -> None:
    op.drop_index("ix_services_tier_lifecycle", table_name="services")
    op.drop_index("ix_services_owner_team_id", table_name="services")
    for table in ("services", "team_members", "teams"):
        op.drop_table(table)
