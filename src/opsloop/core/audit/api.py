from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from opsloop.core.audit import service
from opsloop.core.audit.schemas import AuditRecordOut, VerificationOut
from opsloop.core.auth.roles import Principal
from opsloop.core.deps import ReadSession, require_role
from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import Page

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Reader = Annotated[Principal, Depends(require_role(service.READ_ROLE))]


def _cursor(value: str | None) -> int:
    if value is None:
        return 0
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
        raise ValidationFailed("cursor must be a value returned as next_cursor", field="cursor")
    return int(value)


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValidationFailed(f"{field} needs a time zone, e.g. 2026-01-01T00:00:00Z", field=field)
    return value


@router.get("", response_model=Page[AuditRecordOut])
def list_audit(
    _: Reader,
    session: ReadSession,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[AuditRecordOut]:
    flt = service.AuditFilter(
        since=_aware(since, "since"),
        until=_aware(until, "until"),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
    )
    rows, next_seq = service.page(session, flt, after_seq=_cursor(cursor), limit=limit)
    return Page(
        items=[AuditRecordOut(**service.to_dict(r, parse_changes=False)) for r in rows],
        next_cursor=str(next_seq) if next_seq is not None else None,
    )


@router.get("/verify", response_model=VerificationOut)
def verify(_: Reader, session: ReadSession) -> VerificationOut:
    result = service.verify_chain(session)
    return VerificationOut(**result.__dict__)
