"""Tables of the catalog: teams, their members, and services.

Links and labels are JSON text: they are read and written whole, never queried inside.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.core.db import Base, UTCDateTime
from opsloop.core.stored_enum import StoredEnum
from opsloop.services.vocabulary import Lifecycle, Origin, TeamRole


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    chat_channel: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    origin: Mapped[Origin] = mapped_column(StoredEnum(Origin, 16))
    origin_source: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    # Usernames never change, so members are kept by name: pages show them without a join.
    username: Mapped[str] = mapped_column(
        ForeignKey("users.username", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[TeamRole] = mapped_column(StoredEnum(TeamRole, 16))


class Service(Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The same slug SLOs name their service with (slos.service).
    name: Mapped[str] = mapped_column(String(63), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # No cascade: a team that owns services cannot be deleted (the service layer says which).
    owner_team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id"), nullable=True, index=True
    )
    tier: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lifecycle: Mapped[Lifecycle] = mapped_column(StoredEnum(Lifecycle, 16))
    links: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{"name", "url"}]
    labels: Mapped[str] = mapped_column(Text, default="{}")  # JSON {name: value}
    origin: Mapped[Origin] = mapped_column(StoredEnum(Origin, 16))
    # Which machine source named an implicit service first ("slo", "alert", "deployment").
    origin_source: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_services_tier_lifecycle", "tier", "lifecycle"),)
