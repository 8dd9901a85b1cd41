"""Tables of the action items domain: the items of an incident's review, their notes and the
escalations sent for them.

An item belongs to an incident (deleted with it). Its owner, a user or a team, is kept by
name without a foreign key: the record of who owned an item outlives the account or the team.
The incident key is kept beside the id because keys never change and every list shows it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.actions.rules import ItemStatus, Priority
from opsloop.core.db import Base, UTCDateTime
from opsloop.core.stored_enum import StoredEnum

ONE_OWNER = "(owner_user IS NULL) <> (owner_team IS NULL)"


class ActionItem(Base):
    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    incident_key: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    # Exactly one of the two is set (checked by the service and by the table).
    owner_user: Mapped[str | None] = mapped_column(String(100), nullable=True)
    owner_team: Mapped[str | None] = mapped_column(String(63), nullable=True)
    priority: Mapped[Priority] = mapped_column(StoredEnum(Priority, 4))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ItemStatus] = mapped_column(StoredEnum(ItemStatus, 16))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When it was done or dropped (won't do); cleared when it is reopened.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        CheckConstraint(ONE_OWNER, name="ck_action_items_one_owner"),
        Index("ix_action_items_incident_id", "incident_id"),
        Index("ix_action_items_status_due_on", "status", "due_on"),
        Index("ix_action_items_owner_user", "owner_user"),
        Index("ix_action_items_owner_team", "owner_team"),
    )


class ActionItemNote(Base):
    __tablename__ = "action_item_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    # "open -> done" when the note came with a change of status, else "".
    status_change: Mapped[str] = mapped_column(String(40), default="")

    __table_args__ = (Index("ix_action_item_notes_item_id", "item_id"),)


class ActionItemEscalation(Base):
    """One escalation of an item at one level. The unique (item_id, level) is what makes each
    level go out once, however many schedulers or hand-run commands race for it."""

    __tablename__ = "action_item_escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The leads notified, comma-separated; "" when there was no lead to notify.
    notified_to: Mapped[str] = mapped_column(String(500))
    # The teams the notification was routed to, comma-separated ("" for none).
    teams: Mapped[str] = mapped_column(String(500))

    __table_args__ = (
        Index("uq_action_item_escalations_item_level", "item_id", "level", unique=True),
    )
