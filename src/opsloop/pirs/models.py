"""Tables of post-incident reviews: the review of an incident (its current revision), the
published revisions kept readable, and the record of overdue announcements.

The incident is referenced by id and key; its fields are read through the incident service.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.core.db import Base, UTCDateTime
from opsloop.core.stored_enum import StoredEnum
from opsloop.pirs.rules import PirState


class Pir(Base):
    __tablename__ = "pirs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), unique=True
    )
    incident_key: Mapped[str] = mapped_column(String(16), unique=True)
    state: Mapped[PirState] = mapped_column(StoredEnum(PirState, 16))
    #: 1 for the first; each edit of a published review starts the next one.
    revision: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)  # JSON, opsloop.pirs.content.PirContent
    review_meeting: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON or None
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_pirs_state", "state"),)


class PirRevision(Base):
    """A published revision as it was published; never changed afterwards."""

    __tablename__ = "pir_revisions"

    pir_id: Mapped[int] = mapped_column(ForeignKey("pirs.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content: Mapped[str] = mapped_column(Text)
    review_meeting: Mapped[str | None] = mapped_column(Text, nullable=True)
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PirOverdueNotice(Base):
    """An incident whose review was announced overdue. Keyed by incident, not review: the
    review may not exist yet, and the announcement is made once whoever runs the job."""

    __tablename__ = "pir_overdue_notices"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime())
