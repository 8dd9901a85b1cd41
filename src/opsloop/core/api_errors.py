"""One JSON error shape for the whole API: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import PrimaryKeyConstraint as PrimaryKey
from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsloop.core.db import Base
from opsloop.core.errors import OpsloopError
from opsloop.core.requestctx import current_request_id

log = logging.getLogger("opsloop.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    # FastAPI prefixes with where the value came from ("body", "query"...); users want the name.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or None


#: Seconds a client should wait before retrying when the database is down or overloaded.
DATABASE_RETRY_AFTER = 5


def _unique_columns(exc: IntegrityError) -> list[str]:
    """The columns of the unique key a concurrent writer took first, when the driver says."""
    detail = str(exc.orig)
    if "UNIQUE constraint failed:" in detail:  # SQLite: "... failed: users.username"
        names = detail.split("UNIQUE constraint failed:", 1)[1].split(",")
        return [n.strip().rsplit(".", 1)[-1] for n in names]
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            if index.name == constraint:
                return [c.name for c in index.columns]
        for unique in table.constraints:
            if unique.name == constraint and isinstance(unique, UniqueConstraint | PrimaryKey):
                return [c.name for c in unique.columns]
    return []


def _integrity_error(exc: IntegrityError) -> JSONResponse:
    # Check-then-insert races (two requests creating the same name at once) end here.
    columns = _unique_columns(exc)
    if columns:
        joined = ", ".join(columns)
        message = f"{joined} is already taken (another request stored it first)"
    else:
        message = "the change conflicts with data stored meanwhile; reload and retry"
    field = columns[0] if len(columns) == 1 else None
    return JSONResponse(error_body("conflict", message, field), status_code=409)


def _database_unavailable(exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
    return JSONResponse(
        error_body(
            "database_unavailable",
            "the database is unavailable or overloaded; retry in a few seconds",
        ),
        status_code=503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


class InternalErrorMiddleware:
    """Answers an unexpected exception with the JSON 500 itself instead of letting it reach
    Starlette's ServerErrorMiddleware, which re-raises after responding: the server then closes
    the keep-alive connection and the client's next request on it fails."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            request_id = scope.get("state", {}).get("request_id", "") or current_request_id()
            response = _internal_error(request_id, exc)
            await response(scope, receive, send)


def _internal_error(request_id: str, exc: Exception) -> JSONResponse:
    log.error("unhandled error (request id %s)", request_id, exc_info=exc)
    message = f"internal error; the server log has the details under request id {request_id}"
    return JSONResponse(
        error_body("internal", message),
        status_code=500,
        headers={"X-Request-ID": request_id} if request_id else None,
    )


def install(app: FastAPI) -> None:
    app.add_middleware(InternalErrorMiddleware)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return _integrity_error(exc)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        return _database_unavailable(exc)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        # A connection dropped mid-statement shows up as whatever error the driver raised.
        if exc.connection_invalidated:
            return _database_unavailable(exc)
        request_id = getattr(request.state, "request_id", "") or current_request_id()
        return _internal_error(request_id, exc)

    @app.exception_handler(OpsloopError)
    async def _opsloop(_: Request, exc: OpsloopError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field), status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        field = _field_of(first.get("loc", ()))
        message = str(first.get("msg", "invalid value"))
        if field:
            message = f"{field}: {message}"
        return JSONResponse(error_body("validation_error", message, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Reached only by errors in the outer middleware; InternalErrorMiddleware has the rest.
        request_id = getattr(request.state, "request_id", "") or current_request_id()
        return _internal_error(request_id, exc)
