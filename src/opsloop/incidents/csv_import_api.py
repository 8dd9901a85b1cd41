"""``POST /api/v1/incidents/import``: past incidents from a CSV body, all or nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from opsloop.core.db import Database
from opsloop.core.deps import Approver
from opsloop.core.errors import UnsupportedMediaType, ValidationFailed
from opsloop.core.schemas import WITH_BODY, Schema, errors, plain_params
from opsloop.incidents import csv_import

router = APIRouter(prefix="/api/v1", tags=["Incidents"], dependencies=[Depends(plain_params)])
CSV_TYPES = ("text/csv", "text/plain")
CSV_BODY = {"type": "string", "description": "a header row, then one incident a row"}


class ImportOut(Schema):
    rows: int
    created: int
    skipped: int
    keys: list[str]
    dry_run: bool


@router.post(
    "/incidents/import",
    response_model=ImportOut,
    responses={
        200: {"model": ImportOut, "description": "nothing new (or a dry run)"},
        201: {"model": ImportOut, "description": "incidents were created"},
        **WITH_BODY,
        **errors(415),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": CSV_BODY} for t in CSV_TYPES},
        }
    },
)
async def import_incidents(
    request: Request,
    response: Response,
    principal: Approver,
    dry_run: Annotated[bool, Query(description="check every row, write nothing")] = False,
) -> ImportOut:
    """Import past incidents from CSV (UTF-8; columns in docs/reliability.md). A bad row fails
    the whole import with 422 naming its row and column; rows imported before are skipped.
    The body may be as large as OPSLOOP_MAX_PUSH_BODY_BYTES."""
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if media not in CSV_TYPES:
        raise UnsupportedMediaType("send the incidents as text/csv", field="body")
    try:
        content = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("body: must be UTF-8", field="body") from None
    db: Database = request.app.state.db

    def work() -> csv_import.ImportResult:
        session_of = db.read if dry_run else db.write
        with session_of() as session:
            return csv_import.import_csv(
                session, principal=principal, content=content, dry_run=dry_run, source="API"
            )

    # Thousands of rows take a moment: off the event loop.
    result = await run_in_threadpool(work)
    created = result.created > 0 and not dry_run
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return ImportOut(
        rows=result.rows,
        created=result.created,
        skipped=result.skipped,
        keys=result.keys,
        dry_run=result.dry_run,
    )
