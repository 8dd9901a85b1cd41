"""Tables of the change domain: change requests, their CAB decisions and field history, the
per-year key counter and freeze periods.

The service is kept by name without a foreign key into the catalog (checked when written): a
change's record outlives a service deleted later. People are users, kept by username.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.changes.rules import ChangeModel, ChangeState, Decision, RiskLevel
from opsloop.core.db import Base, UTCDateTime
from opsloop.core.stored_enum import StoredEnum


class ChangeCounter(Base):
    """The last change number handed out in a year, taken with one upsert in the submitting
    transaction (as incident numbers are): unique under concurrent submissions, and given back
    by a submission that rolls back."""

    __tablename__ = "change_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer)


class Change(Base):
    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(16), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    service: Mapped[str] = mapped_column(String(63))
    category: Mapped[str] = mapped_column(String(32))
    model: Mapped[ChangeModel] = mapped_column(StoredEnum(ChangeModel, 16))
    risk: Mapped[RiskLevel] = mapped_column(StoredEnum(RiskLevel, 8))
    state: Mapped[ChangeState] = mapped_column(StoredEnum(ChangeState, 16))
    impact_analysis: Mapped[str] = mapped_column(Text, default="")
    rollback_plan: Mapped[str] = mapped_column(Text, default="")
    requester: Mapped[str | None] = mapped_column(
        ForeignKey("users.username", ondelete="SET NULL"), nullable=True
    )
    implementer: Mapped[str | None] = mapped_column(
        ForeignKey("users.username", ondelete="SET NULL"), nullable=True
    )
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Why it failed or was rolled back, and the incident a rollback names.
    outcome_reason: Mapped[str] = mapped_column(Text, default="")
    incident_key: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # An admin's override of the error-budget gate: kept for compliance to list.
    gate_override_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    gate_override_reason: Mapped[str] = mapped_column(Text, default="")
    gate_override_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # JSON list of {"at", "kind", "text"}: overlaps, freezes and gates passed with a warning.
    warnings: Mapped[str] = mapped_column(Text, default="[]")
    # What a pipeline records of a deployment (opsloop.changes.recording): the version, the
    # commit and when it was committed (where lead time starts), the run, and the key that
    # makes a retried pipeline step record nothing twice.
    version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    commit_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    pipeline_run: Mapped[str | None] = mapped_column(String(200), nullable=True)
    record_key: Mapped[str | None] = mapped_column(String(400), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Verification after completion (opsloop.changes.verification): the latest verdict, and
    # the job's claim, taken once by a conditional UPDATE so several replicas verify once.
    verification: Mapped[str | None] = mapped_column(String(16), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    verification_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Silence the service's alerts during the window (opsloop.changes.silencing).
    silence_alerts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    silence_matchers: Mapped[str] = mapped_column(Text, default="", server_default="")
    silence_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        Index("uq_changes_year_number", "year", "number", unique=True),
        Index("ix_changes_finished_at", "finished_at"),
        Index("ix_changes_service_window", "service", "window_start"),
        Index("ix_changes_state", "state"),
        Index("ix_changes_created_at", "created_at"),
        Index("uq_changes_record_key", "record_key", unique=True),
    )


class ChangeApproval(Base):
    """One CAB member's decision on a change; one per member (a second replaces nothing)."""

    __tablename__ = "change_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"))
    approver: Mapped[str] = mapped_column(String(64))
    decision: Mapped[Decision] = mapped_column(StoredEnum(Decision, 8))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("uq_change_approvals_change_approver", "change_id", "approver", unique=True),
    )


class ChangeHistory(Base):
    """Every change of state or field: who, when, which field, before and after (as text)."""

    __tablename__ = "change_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    field: Mapped[str] = mapped_column(String(32))
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_change_history_change_at", "change_id", "at"),)


class Freeze(Base):
    """A period no change may be scheduled into: for one service, or all when service is null."""

    __tablename__ = "freezes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    service: Mapped[str | None] = mapped_column(String(63), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_freezes_starts_at", "starts_at"),)
