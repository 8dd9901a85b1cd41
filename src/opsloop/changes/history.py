"""Writing a change's own history: one row per changed field, with the values before and
after as text, beside the audit record of the whole write."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from opsloop.changes.models import ChangeHistory
from opsloop.core import clock
from opsloop.core.auth.roles import Principal


def shown(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def record(
    session: Session,
    *,
    change_id: int,
    principal: Principal,
    field: str,
    before: Any,
    after: Any,
    note: str = "",
) -> None:
    session.add(
        ChangeHistory(
            change_id=change_id,
            at=clock.now(),
            actor=principal.actor,
            field=field,
            before=shown(before),
            after=shown(after),
            note=note,
        )
    )


def set_field(
    session: Session, row: Any, principal: Principal, field: str, value: Any, note: str = ""
) -> bool:
    """Sets ``row.field`` and records it when it changes; True if it did."""
    before = getattr(row, field)
    if before == value:
        return False
    setattr(row, field, value)
    record(
        session,
        change_id=row.id,
        principal=principal,
        field=field,
        before=before,
        after=value,
        note=note,
    )
    return True
