"""One JSON error shape for the whole API: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def install(app: FastAPI) -> None:
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
        request_id = getattr(request.state, "request_id", "") or current_request_id()
        log.error("unhandled error (request id %s)", request_id, exc_info=exc)
        message = f"internal error; the server log has the details under request id {request_id}"
        return JSONResponse(
            error_body("internal", message),
            status_code=500,
            headers={"X-Request-ID": request_id} if request_id else None,
        )
