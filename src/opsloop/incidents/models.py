"""Tables of the incidents domain: incidents, their services and SLOs, their timelines, the
per-year key counter and the customised status-update templates.

Services and SLOs are kept by name (and SLO id) without a foreign key into the catalog or the
SLO tables: an incident's record outlives a service or SLO deleted later.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.core.db import Base, UTCDateTime
from opsloop.core.stored_enum import StoredEnum
from opsloop.incidents.rules import Severity, Status
from opsloop.incidents.vocabulary import Audience, DetectionMethod, EventKind


class IncidentCounter(Base):
    """The last incident number handed out in a year. Declarations take the next one with one
    upsert in their own transaction, so numbers are unique under concurrent declarations and a
    declaration that rolls back gives its number back."""

    __tablename__ = "incident_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer)


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(16), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[Severity] = mapped_column(StoredEnum(Severity, 8))
    status: Mapped[Status] = mapped_column(StoredEnum(Status, 16))
    detection_method: Mapped[DetectionMethod] = mapped_column(StoredEnum(DetectionMethod, 16))
    # Usernames never change; kept by name like team members.
    commander: Mapped[str | None] = mapped_column(
        ForeignKey("users.username", ondelete="SET NULL"), nullable=True
    )
    communications_lead: Mapped[str | None] = mapped_column(
        ForeignKey("users.username", ondelete="SET NULL"), nullable=True
    )
    scribe: Mapped[str | None] = mapped_column(
        ForeignKey("users.username", ondelete="SET NULL"), nullable=True
    )
    users_affected: Mapped[int | None] = mapped_column(Integer, nullable=True)
    features_impacted: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of text
    revenue_impact: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    mitigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the last status update promised the next one.
    next_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The resolution record as JSON (opsloop.incidents.resolution.ResolutionRecord).
    resolution: Mapped[str] = mapped_column(Text, default="{}")
    declared_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # What declared it when a machine did ("slo:<id>:<alert>:<active since>"): unique, so one
    # firing alert never declares two incidents, however many evaluators see it.
    origin: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The next_update_at whose passing was last announced (announced once per promise).
    overdue_announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The change request (CR-YYYY-NNN) that caused it, checked with the change domain.
    caused_by_change: Mapped[str | None] = mapped_column(String(16), nullable=True)

    __table_args__ = (
        Index("ix_incidents_caused_by_change", "caused_by_change"),
        Index("uq_incidents_year_number", "year", "number", unique=True),
        Index("uq_incidents_origin", "origin", unique=True),
        Index("ix_incidents_status_started", "status", "started_at"),
        Index("ix_incidents_started_at", "started_at"),
    )


class IncidentService(Base):
    __tablename__ = "incident_services"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(63), primary_key=True)

    __table_args__ = (Index("ix_incident_services_service", "service"),)


class IncidentSLO(Base):
    __tablename__ = "incident_slos"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    slo_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # service/name when it was linked, shown even after the SLO is gone.
    slo_ref: Mapped[str] = mapped_column(String(127))


class TimelineEvent(Base):
    __tablename__ = "incident_timeline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[EventKind] = mapped_column(StoredEnum(EventKind, 16))
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    # Written by opsloop for a change of status, severity, role or time (not typed by a person).
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    # JSON {"field", "before", "after"} of an automatic entry; "" for others.
    change: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[Audience | None] = mapped_column(StoredEnum(Audience, 16), nullable=True)
    next_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_incident_timeline_incident_at", "incident_id", "at"),)


class UpdateTemplate(Base):
    """A customised status-update template; the shipped wording applies where none is stored."""

    __tablename__ = "incident_update_templates"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    audience: Mapped[Audience] = mapped_column(StoredEnum(Audience, 16), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AutoDeclare(Base):
    """Whether a service's SLO page alerts declare incidents by themselves; a service without a
    row follows its tier (tier 1: yes)."""

    __tablename__ = "incident_auto_declare"

    service: Mapped[str] = mapped_column(String(63), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
