from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.core.db import Base, UTCDateTime
from opsloop.core.stored_enum import StoredEnum
from opsloop.slo.sources import Source


class SLO(Base):
    __tablename__ = "slos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(63))
    source: Mapped[Source] = mapped_column(StoredEnum(Source, 16))
    # The whole definition as canonical OpenSLO YAML; the columns beside it are for queries.
    spec: Mapped[str] = mapped_column(Text)
    # The spec's documents as JSON, read instead of the YAML (opsloop.slo.spec.stored_documents).
    spec_documents: Mapped[str | None] = mapped_column(Text, nullable=True)
    objective: Mapped[float] = mapped_column(Float)
    owner: Mapped[str] = mapped_column(String(200), default="")
    period_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Not an enum: tiers, and so their state names, are configured per service (ServicePolicy).
    policy_state: Mapped[str] = mapped_column(String(32), default="no_data")
    policy_state_since: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("uq_slos_service_name", "service", "name", unique=True),)


class EventBucket(Base):
    """Pushed good/total counts of one minute. A resend replaces the minute, never adds to it.

    Every write also adds the minute's change to its hour (:class:`EventHour`) and its UTC day
    (:class:`EventDay`) in the same transaction, so a window sum reads whole days, whole hours
    at its edges and single minutes only inside the partial hours (opsloop.slo.event_sums), and
    a late minute touches three rows however late it is.
    """

    __tablename__ = "slo_event_buckets"

    slo_id: Mapped[int] = mapped_column(ForeignKey("slos.id", ondelete="CASCADE"), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    good: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)

    # Clustered on (slo_id, minute) in SQLite too: half the space, one lookup per seek.
    __table_args__ = ({"sqlite_with_rowid": False},)


class EventHour(Base):
    """The sums of an SLO's minute buckets in one UTC hour (``hour`` is its first minute)."""

    __tablename__ = "slo_event_hours"

    slo_id: Mapped[int] = mapped_column(ForeignKey("slos.id", ondelete="CASCADE"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    good: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = ({"sqlite_with_rowid": False},)


class EventDay(Base):
    """The sums of an SLO's minute buckets in one UTC day (``day`` is its midnight)."""

    __tablename__ = "slo_event_days"

    slo_id: Mapped[int] = mapped_column(ForeignKey("slos.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    good: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = ({"sqlite_with_rowid": False},)


class BudgetPeriod(Base):
    __tablename__ = "slo_budget_periods"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slo_id: Mapped[int] = mapped_column(ForeignKey("slos.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str] = mapped_column(String(500))
    started_by: Mapped[str] = mapped_column(String(100))


class Evaluation(Base):
    """The latest evaluation of an SLO: what status pages, /metrics and the CLI read."""

    __tablename__ = "slo_evaluations"

    slo_id: Mapped[int] = mapped_column(ForeignKey("slos.id", ondelete="CASCADE"), primary_key=True)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # JSON: sli, budget, burn rates per window, alert rows, policy decision, no-data reason.
    result: Mapped[str] = mapped_column(Text)


class AlertEvent(Base):
    __tablename__ = "slo_alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slo_id: Mapped[int] = mapped_column(ForeignKey("slos.id", ondelete="CASCADE"))
    alert: Mapped[str] = mapped_column(String(32))  # e.g. "page-1h" (severity-long window)
    severity: Mapped[str] = mapped_column(String(16))
    firing: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    factor: Mapped[float] = mapped_column(Float)
    long_burn: Mapped[float | None] = mapped_column(Float, nullable=True)
    short_burn: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index("ix_slo_alert_events_slo_at", "slo_id", "at"),)


class ServicePolicy(Base):
    """A service's own error-budget policy; services without one use the default."""

    __tablename__ = "slo_service_policies"

    service: Mapped[str] = mapped_column(String(63), primary_key=True)
    tiers: Mapped[str] = mapped_column(Text)  # JSON list of tiers
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EventPush(Base):
    """One accepted push (one request, for one SLO or many): who sent it, when, and what it
    covered. ``minutes`` counts the minutes it stored over all its SLOs, ``first_minute`` and
    ``last_minute`` bound them; ``slos`` says which minutes each SLO received
    (:mod:`opsloop.slo.push_records`).

    Pushes are data-plane writes: they are recorded here, not in the audit trail, so ingestion
    never takes the audit lock. One row per push, in the order they were stored, and no index
    beside the id: each push adds to the table's last page only."""

    __tablename__ = "slo_event_pushes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    request_id: Mapped[str] = mapped_column(String(64), default="")
    minutes: Mapped[int] = mapped_column(Integer)
    first_minute: Mapped[datetime] = mapped_column(UTCDateTime())
    last_minute: Mapped[datetime] = mapped_column(UTCDateTime())
    slos: Mapped[str] = mapped_column(Text)
