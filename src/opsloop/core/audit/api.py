from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from json.encoder import encode_basestring
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Row
from sqlalchemy.engine import Connection

from opsloop.core.audit import service, verification
from opsloop.core.audit.schemas import AuditRecordOut, VerificationOut
from opsloop.core.auth.roles import Principal
from opsloop.core.db import Database
from opsloop.core.deps import get_database, require_role, run_read
from opsloop.core.errors import ValidationFailed
from opsloop.core.generations import RenderedCache
from opsloop.core.schemas import (
    AUTHENTICATED,
    PLAIN_PATTERN,
    Page,
    PageQuery,
    Timestamp,
    encode_cursor,
    plain_params,
    utc_text,
)

router = APIRouter(
    prefix="/api/v1/audit",
    tags=["audit"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
Filter = Annotated[str | None, Query(max_length=200, pattern=PLAIN_PATTERN)]
Reader = Annotated[Principal, Depends(require_role(service.READ_ROLE))]


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValidationFailed(f"{field} needs a time zone, e.g. 2026-01-01T00:00:00Z", field=field)
    return value


def _record_json(row: Row[Any]) -> str:
    """An ``AuditRecordOut`` as JSON, with the stored ``changes`` text spliced in: it is the
    canonical JSON that was hashed, so parsing and writing it again would only cost time."""
    return (
        f'{{"seq":{row.seq},"at":"{utc_text(row.at)}","actor":{_text(row.actor)},'
        f'"action":{_text(row.action)},"entity_type":{_text(row.entity_type)},'
        f'"entity_id":{_text(row.entity_id)},"changes":{row.changes},'
        f'"request_id":{_text(row.request_id)},'
        f'"client_request_id":{_text(row.client_request_id)},'
        f'"prev_hash":{_text(row.prev_hash)},"hash":{_text(row.hash)}}}'
    )


def _text(value: str) -> str:
    # What json.dumps does for a string (ensure_ascii=False), without a new encoder per call.
    return encode_basestring(value)


@router.get(
    "",
    response_class=JSONResponse,
    responses={200: {"model": Page[AuditRecordOut], "description": "a page, oldest first"}},
)
async def list_audit(
    request: Request,
    _: Reader,
    paging: PageQuery,
    since: Annotated[Timestamp | None, Query()] = None,
    until: Annotated[Timestamp | None, Query()] = None,
    actor: Filter = None,
    action: Filter = None,
    entity_type: Filter = None,
    entity_id: Filter = None,
) -> Response:
    flt = service.AuditFilter(
        since=_aware(since, "since"),
        until=_aware(until, "until"),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
    )
    key = (flt, paging.after or 0, paging.limit)
    pages: RenderedCache = request.app.state.audit_pages
    kept = pages.get(key, FULL_PAGE)
    if kept is None:
        kept = await run_read(request, lambda conn: _page(conn, pages, key))
    return Response(kept, media_type="application/json")


#: Records are append-only and numbered in commit order (the chain's lock), so a page that is
#: full and has a record after it never changes: it is kept under this constant generation and
#: served again without a query. The last page is read every time.
FULL_PAGE = 0


def _page(
    conn: Connection, pages: RenderedCache, key: tuple[service.AuditFilter, int, int]
) -> bytes:
    flt, after, limit = key
    rows, next_seq = service.page(conn, flt=flt, after_seq=after, limit=limit)
    items = ",".join(_record_json(r) for r in rows)
    body = f'{{"items":[{items}],"next_cursor":{json.dumps(encode_cursor(next_seq))}}}'.encode()
    if next_seq is not None:
        pages.put(key, FULL_PAGE, body)
    return body


@router.get("/verify", response_model=VerificationOut)
def verify(
    _: Reader,
    db: Annotated[Database, Depends(get_database)],
    anchor: Annotated[str | None, Query(description="SEQ:HASH from 'opsloop audit head'")] = None,
    full: Annotated[
        bool,
        Query(description="hash every record, not only those added since the last verification"),
    ] = False,
) -> VerificationOut:
    result = verification.chain_status(db, full=full, anchor=anchor)
    return VerificationOut(**asdict(result))
