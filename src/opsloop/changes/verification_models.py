"""The table of change verifications: one row per SLO of the service each time a completed
change is verified, with the error ratios and burn rates before and after and the verdict."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.core.db import Base, UTCDateTime


class ChangeVerification(Base):
    __tablename__ = "change_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"))
    # No foreign key: the record outlives an SLO deleted later; the ref names it.
    slo_id: Mapped[int] = mapped_column(Integer)
    slo_ref: Mapped[str] = mapped_column(String(127))
    objective: Mapped[float] = mapped_column(Float)
    before_ratio: Mapped[float | None] = mapped_column(Float, nullable=True)
    after_ratio: Mapped[float | None] = mapped_column(Float, nullable=True)
    burn_before: Mapped[float | None] = mapped_column(Float, nullable=True)
    burn_after: Mapped[float | None] = mapped_column(Float, nullable=True)
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_change_verifications_change_checked", "change_id", "checked_at"),)
