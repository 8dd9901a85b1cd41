from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.core.db import Base, UTCDateTime


class SchedulerRun(Base):
    """When each background job last started and finished, shared by every replica."""

    __tablename__ = "scheduler_runs"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str] = mapped_column(String(1000), default="")
