"""Alert instances received from Alertmanager, and the record of each webhook delivery."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.core.db import Base, UTCDateTime
from opsloop.core.stored_enum import StoredEnum


class AlertStatus(StrEnum):
    firing = "firing"
    resolved = "resolved"


class Feedback(StrEnum):
    actionable = "actionable"
    false_positive = "false_positive"


class Alert(Base):
    """One alert instance: an Alertmanager fingerprint firing from ``starts_at``. Its resolved
    notice ends the same row; firing again later starts a new instance (a new start time)."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("fingerprint", "starts_at", name="uq_alerts_fingerprint_starts_at"),
        Index("ix_alerts_status_starts_at", "status", "starts_at"),
        Index("ix_alerts_respond_by", "respond_by"),
        Index("ix_alerts_routed_at_starts_at", "routed_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[AlertStatus] = mapped_column(StoredEnum(AlertStatus, 16))
    name: Mapped[str] = mapped_column(String(255), index=True)
    severity: Mapped[str] = mapped_column(String(32))
    service: Mapped[str | None] = mapped_column(String(63), nullable=True, index=True)
    slo_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    labels: Mapped[str] = mapped_column(Text)  # JSON object
    annotations: Mapped[str] = mapped_column(Text)  # JSON object
    generator_url: Mapped[str] = mapped_column(Text)
    receiver: Mapped[str] = mapped_column(String(1024))
    #: When someone must have acknowledged it, by the alerting standard at arrival.
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_by: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str] = mapped_column(String(64))
    resolved_request_id: Mapped[str] = mapped_column(String(64))
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acked_by: Mapped[str] = mapped_column(String(200))
    #: Seconds from start to acknowledgement: MTTA is their mean, in SQL on any database.
    ack_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    feedback: Mapped[Feedback | None] = mapped_column(StoredEnum(Feedback, 16), nullable=True)
    feedback_action: Mapped[str] = mapped_column(Text)
    feedback_by: Mapped[str] = mapped_column(String(200))
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The incident this instance was routed to (set by the incidents domain through
    #: :func:`opsloop.alerts.service.link_incident`).
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    #: When the router (:mod:`opsloop.alerts.router`) decided about this instance, and by
    #: which rule (None: no rule matched). Unset while the instance waits for routing.
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    route_rule_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AlertReceipt(Base):
    """One webhook delivery accepted: who sent it, in which request, how many alerts."""

    __tablename__ = "alert_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    received_by: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str] = mapped_column(String(64))
    receiver: Mapped[str] = mapped_column(String(1024))
    group_key: Mapped[str] = mapped_column(Text)
    firing: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
