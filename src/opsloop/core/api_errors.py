"""One JSON error shape for the whole API: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import PrimaryKeyConstraint as PrimaryKey
from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsloop.core.db import Base
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


def reason(error: Mapping[str, Any]) -> str:
    """What is wrong with a value, in words (one formatter for the API and the web forms)."""
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
    message = reason(first)
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


#: Errors that mean the database cannot be reached or is overloaded, not a bug.
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)


def database_unavailable(exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
    return JSONResponse(
        error_body(
            "database_unavailable",
            "the database is unavailable or overloaded; retry in a few seconds",
        ),
        status_code=503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


class ResponseWatch:
    """Passes messages on to ``send`` and tells whether the response has started: until then an
    error can still be answered with a response of its own, after it only by closing."""

    def __init__(self, send: Send) -> None:
        self.started = False
        self._send = send

    async def send(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


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
        watch = ResponseWatch(send)
        try:
            await self.app(scope, receive, watch.send)
        except Exception as exc:
            if watch.started:
                raise
            request_id = scope.get("state", {}).get("request_id", "") or current_request_id()
            response = _internal_error(request_id, exc)
            await response(scope, receive, send)


def _internal_error(request_id: str, exc: Exception) -> JSONResponse:
    log.error("unhandled error (request id %s)", request_id, exc_info=exc)
    message = f"internal error; the server log has the details under request id {request_id}"
    # The observability middleware around every response adds X-Request-ID.
    return JSONResponse(error_body("internal", message), status_code=500)


def install(app: FastAPI) -> None:
    app.add_middleware(InternalErrorMiddleware)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return _integrity_error(exc)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        return database_unavailable(exc)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        # A connection dropped mid-statement shows up as whatever error the driver raised.
        if exc.connection_invalidated:
            return database_unavailable(exc)
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
        # Reached only by errors in the outer middleware; InternalErrorMiddleware has the rest.
        request_id = getattr(request.state, "request_id", "") or current_request_id()
        return _internal_error(request_id, exc)
