"""Probes and metrics for opsloop itself; the only routes that need no token."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from opsloop.core import migrate
from opsloop.core.db import Database
from opsloop.core.observability import metrics_payload

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready; reason says why"}})
def readyz(request: Request) -> JSONResponse:
    db: Database = request.app.state.db
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = migrate.current_revision(db.engine)
    except SQLAlchemyError as exc:
        reason = f"database unreachable: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        return JSONResponse({"status": "unready", "reason": reason}, status_code=503)
    head = migrate.head_revision()
    if current != head:
        at = current or "nothing"
        reason = f"database schema at {at}, opsloop needs {head}: run 'opsloop db upgrade'"
        return JSONResponse({"status": "unready", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "schema": current})


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    payload, content_type = metrics_payload(request.app.state.metrics)
    return Response(payload, media_type=content_type)
