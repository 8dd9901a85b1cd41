"""Freeze periods: times no change may be scheduled into, for one service or (without one) for
all. Approvers declare and remove them; every write is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from opsloop.changes.models import Freeze
from opsloop.changes.service import text
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.services import service as catalog

WRITE_ROLE = Role.approver
ENTITY = "freeze"
MAX_LENGTH = timedelta(days=366)


@dataclass(frozen=True)
class FreezeView:
    id: int
    name: str
    starts_at: datetime
    ends_at: datetime
    service: str | None
    reason: str
    created_by: str
    created_at: datetime

    def fields(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "service": self.service,
            "reason": self.reason,
        }

    def describe(self) -> str:
        where = f"service {self.service!r}" if self.service else "all services"
        return (
            f"freeze {self.name!r} ({where}, {self.starts_at:%Y-%m-%d %H:%M} to "
            f"{self.ends_at:%Y-%m-%d %H:%M} UTC)"
        )


def _view(row: Freeze) -> FreezeView:
    return FreezeView(
        row.id,
        row.name,
        row.starts_at,
        row.ends_at,
        row.service,
        row.reason,
        row.created_by,
        row.created_at,
    )


def _moment(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise ValidationFailed(
            f"{field}: give a time zone (e.g. 2026-01-01T10:00:00Z)", field=field
        )
    return value


def create_freeze(
    session: Session,
    *,
    principal: Principal,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    service: str | None = None,
    reason: str = "",
) -> FreezeView:
    require(principal, WRITE_ROLE)
    start, end = _moment(starts_at, "starts_at"), _moment(ends_at, "ends_at")
    if end <= start:
        raise ValidationFailed("ends_at: must be after starts_at", field="ends_at")
    if end - start > MAX_LENGTH:
        raise ValidationFailed("ends_at: a freeze lasts at most a year", field="ends_at")
    if start > clock.now() + MAX_LENGTH:
        raise ValidationFailed("starts_at: at most a year ahead", field="starts_at")
    if end <= clock.now():
        raise ValidationFailed("ends_at: the freeze would be over already", field="ends_at")
    checked = None
    if service is not None and service.strip():
        checked = catalog.require_service(session, service.strip(), field="service").name
    row = Freeze(
        name=text(name, "name", limit=100, required=True),
        starts_at=start,
        ends_at=end,
        service=checked,
        reason=text(reason, "reason"),
        created_by=principal.actor,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    found = _view(row)
    audit.record(
        session,
        principal=principal,
        action="freeze.create",
        entity_type=ENTITY,
        entity_id=row.id,
        after=found.fields(),
    )
    return found


def delete_freeze(session: Session, *, principal: Principal, freeze_id: int) -> None:
    require(principal, WRITE_ROLE)
    # Ids are 32-bit: a larger number names no freeze (and PostgreSQL would refuse the query).
    row = session.get(Freeze, freeze_id) if 0 < freeze_id < 2**31 else None
    if row is None:
        raise NotFound(f"no freeze {freeze_id}", field="id")
    before = _view(row).fields()
    session.delete(row)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="freeze.delete",
        entity_type=ENTITY,
        entity_id=freeze_id,
        before=before,
    )


def list_freezes(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    service: str | None = None,
) -> list[FreezeView]:
    """Freezes overlapping [since, until), earliest first; with ``service``, those that apply
    to it (its own and the global ones)."""
    query = select(Freeze)
    if since is not None:
        query = query.where(Freeze.ends_at > since)
    if until is not None:
        query = query.where(Freeze.starts_at < until)
    if service is not None:
        query = query.where(or_(Freeze.service.is_(None), Freeze.service == service))
    return [_view(r) for r in session.scalars(query.order_by(Freeze.starts_at, Freeze.id))]


def blocking(session: Session, *, service: str, start: datetime, end: datetime) -> list[FreezeView]:
    """The freezes a window of the service would fall into."""
    return list_freezes(session, since=start, until=end, service=service)
