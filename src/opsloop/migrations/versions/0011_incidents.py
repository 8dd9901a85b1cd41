"""incidents: incidents with their services, SLOs and timelines, the per-year key counter and
customised status-update templates

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsloop.core.db import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _user(name: str) -> sa.Column[str]:
    return sa.Column(
        name,
        sa.String(64),
        sa.ForeignKey("users.username", ondelete="SET NULL", name=f"fk_incidents_{name}_users"),
        nullable=True,
    )


def _incident_id(table: str) -> sa.Column[int]:
    return sa.Column(
        "incident_id",
        sa.Integer,
        sa.ForeignKey("incidents.id", ondelete="CASCADE", name=f"fk_{table}_incident_id_incidents"),
        primary_key=table != "incident_timeline",
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "incident_counters",
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_number", sa.Integer, nullable=False),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detection_method", sa.String(16), nullable=False),
        _user("commander"),
        _user("communications_lead"),
        _user("scribe"),
        sa.Column("users_affected", sa.Integer, nullable=True),
        sa.Column("features_impacted", sa.Text, nullable=False),
        sa.Column("revenue_impact", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("mitigated_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("next_update_at", UTCDateTime(), nullable=True),
        sa.Column("resolution", sa.Text, nullable=False),
        sa.Column("declared_by", sa.String(100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("key", name="uq_incidents_key"),
    )
    op.create_index("uq_incidents_year_number", "incidents", ["year", "number"], unique=True)
    op.create_index("ix_incidents_status_started", "incidents", ["status", "started_at"])
    op.create_index("ix_incidents_started_at", "incidents", ["started_at"])
    op.create_table(
        "incident_services",
        _incident_id("incident_services"),
        sa.Column("service", sa.String(63), primary_key=True),
    )
    op.create_index("ix_incident_services_service", "incident_services", ["service"])
    op.create_table(
        "incident_slos",
        _incident_id("incident_slos"),
        sa.Column("slo_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("slo_ref", sa.String(127), nullable=False),
    )
    op.create_table(
        "incident_timeline",
        sa.Column("id", sa.Integer, primary_key=True),
        _incident_id("incident_timeline"),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("automatic", sa.Boolean, nullable=False),
        sa.Column("change", sa.Text, nullable=False),
        sa.Column("audience", sa.String(16), nullable=True),
        sa.Column("next_update_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_incident_timeline_incident_at", "incident_timeline", ["incident_id", "at"])
    op.create_table(
        "incident_update_templates",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("audience", sa.String(16), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_incident_timeline_incident_at", table_name="incident_timeline")
    op.drop_index("ix_incident_services_service", table_name="incident_services")
    for index in ("ix_incidents_started_at", "ix_incidents_status_started"):
        op.drop_index(index, table_name="incidents")
    op.drop_index("uq_incidents_year_number", table_name="incidents")
    for table in (
        "incident_update_templates",
        "incident_timeline",
        "incident_slos",
        "incident_services",
        "incidents",
        "incident_counters",
    ):
        op.drop_table(table)
