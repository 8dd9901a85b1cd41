from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from opsloop.core.audit import service, verification
from opsloop.core.audit.schemas import AuditRecordOut, VerificationOut
from opsloop.core.db import Database
from opsloop.core.deps import Approver, ReadSession, get_database
from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import Page

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


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
    _: Approver,
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
def verify(
    _: Approver,
    db: Annotated[Database, Depends(get_database)],
    anchor: Annotated[str | None, Query(description="SEQ:HASH from 'opsloop audit head'")] = None,
    full: Annotated[
        bool,
        Query(description="hash every record, not only those added since the last verification"),
    ] = False,
) -> VerificationOut:
    result = verification.chain_status(db, full=full, anchor=anchor)
    return VerificationOut(**asdict(result))
