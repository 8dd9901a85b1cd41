"""Routing rules, the incident each routed cause leads to, and silences set in Alertmanager."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.core.db import Base, UTCDateTime


class RouteRule(Base):
    """One routing rule; rules are tried by ``position``, then id."""

    __tablename__ = "alert_routes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: Canonical matcher list, as :func:`opsloop.alerts.matchers.parse_matchers` reads it.
    matchers: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(16))  # declare | attach
    #: The severity a declared incident gets (``declare``, or ``attach`` falling back).
    severity: Mapped[str] = mapped_column(String(8))
    fallback_declare: Mapped[bool] = mapped_column(Boolean)
    continue_matching: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RouteCause(Base):
    """What one rule declared for one service: the cause's current incident and how many
    incidents it has declared (``episode``, part of each incident's origin). The row is read
    and written under the write lock that a declaration holds, so one cause never declares
    two incidents at once."""

    __tablename__ = "alert_route_causes"

    rule_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service: Mapped[str] = mapped_column(String(63), primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    episode: Mapped[int] = mapped_column(Integer)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Silence(Base):
    """A silence created in Alertmanager through opsloop."""

    __tablename__ = "alert_silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alertmanager_id: Mapped[str] = mapped_column(String(64), unique=True)
    matchers: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    comment: Mapped[str] = mapped_column(Text)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expired_by: Mapped[str] = mapped_column(String(200))
