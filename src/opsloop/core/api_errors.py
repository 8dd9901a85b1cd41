"""One JSON error shape for the whole API: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Route

from opsloop.core.errors import OpsloopError
from opsloop.core.requestctx import current_request_id
from opsloop.core.schemas import PATTERN_RULES

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


_SOURCES = {"body", "query", "path", "header", "cookie"}


def field_path(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """``("body", "events", 0, "good")`` -> ``events[0].good``: the one way fields are named."""
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]  # users want the field's name, not where FastAPI found it
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part != "[key]":
            name = str(part)
            if not name.isprintable():
                name = json.dumps(name)  # a key with a NUL in it is shown escaped
            out += f".{name}" if out else name
    return out or None


def _reason(error: Mapping[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    kind = error.get("type")
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_RULES:
        return PATTERN_RULES[ctx["pattern"]]
    if kind == "string_unicode":
        return "must be valid Unicode (no lone surrogates)"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return str(error.get("msg", "invalid value"))


def _json_syntax(error: Mapping[str, Any], document: Any) -> str:
    """Where a JSON body stops parsing, as line and column (1-based) like an editor shows."""
    position = error["loc"][-1] if isinstance(error["loc"][-1], int) else 0
    text = document if isinstance(document, str) else ""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    reason = (error.get("ctx") or {}).get("error", "invalid JSON")
    return f"line {line}, column {column}: invalid JSON: {reason}"


def validation_response(errors: Sequence[Mapping[str, Any]], body: Any) -> JSONResponse:
    first = errors[0]
    if first.get("type") == "json_invalid":
        return JSONResponse(error_body("validation_error", _json_syntax(first, body)), 422)
    field = field_path(first.get("loc", ()))
    message = _reason(first)
    if field:
        message = f"{field}: {message}"
    return JSONResponse(error_body("validation_error", message, field), status_code=422)


def _flat_routes(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    # FastAPI wraps each included router in one route; its contexts hold the prefixed routes.
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is None:
            yield route
            continue
        for context in contexts():
            yield getattr(context, "starlette_route", None) or context.original_route


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in _flat_routes(request.app.router.routes):
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(request.scope)
            if match != Match.NONE:
                methods |= route.methods
    if methods:
        methods.add("OPTIONS")
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(OpsloopError)
    async def _opsloop(_: Request, exc: OpsloopError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field), status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc.errors(), exc.body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            allow = ", ".join(allowed_methods(request))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers={"Allow": allow})
            headers = {**(headers or {}), "Allow": allow}
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
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
