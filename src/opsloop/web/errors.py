"""Error pages for browser routes: a person gets an opsloop page, never a JSON body.

API routes keep the JSON error shape; the handlers here take over only for pages and fall back
to the API's handler for everything under ``/api/`` and the machine endpoints.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from opsloop.core import api_errors
from opsloop.core.errors import OpsloopError
from opsloop.web.routes import LoginRequired, optional_session, render
from opsloop.web.security import CsrfFailed

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]

_MACHINE_PATHS = ("/api/", "/static/")
_MACHINE_ENDPOINTS = {"/healthz", "/readyz", "/metrics", "/favicon.ico"}

_TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    500: "Something went wrong",
}


def is_browser_route(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(_MACHINE_PATHS) and path not in _MACHINE_ENDPOINTS


def error_page(request: Request, status: int, message: str) -> Response:
    return render(
        request,
        "error.html",
        optional_session(request),
        status_code=status,
        status=status,
        title=_TITLES.get(status, "Error"),
        message=message,
    )


def _message(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, OpsloopError):
        return exc.status, exc.message
    if isinstance(exc, RequestValidationError):
        first = exc.errors()[0]
        where = api_errors.field_path(first.get("loc", ()))
        text = api_errors.reason(first)
        return 422, f"{where}: {text}" if where else text
    if isinstance(exc, StarletteHTTPException):
        if exc.status_code == 404:
            return 404, "There is no page at this address."
        if exc.status_code == 405:
            return 405, f"This page does not take {request_method_word(exc)}."
        return exc.status_code, str(exc.detail)
    raise exc


def request_method_word(exc: StarletteHTTPException) -> str:
    allowed = (exc.headers or {}).get("Allow", "")
    return f"this kind of request (allowed: {allowed})" if allowed else "this kind of request"


def _html_or(fallback: Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        if not is_browser_route(request):
            answer = fallback(request, exc)
            return await answer if isinstance(answer, Awaitable) else answer
        status, message = _message(exc)
        return error_page(request, status, message)

    return handle


def _html_500(fallback: Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        # The API's handler logs the error under the request id; the page repeats its message.
        answer = fallback(request, exc)
        answer = await answer if isinstance(answer, Awaitable) else answer
        if not is_browser_route(request):
            return answer
        message = json.loads(bytes(answer.body))["error"]["message"]
        page = error_page(request, 500, message)
        page.headers.update({k: v for k, v in answer.headers.items() if k == "x-request-id"})
        return page

    return handle


def install(app: FastAPI) -> None:
    """Call after the API's handlers are installed: they stay the answer for API routes."""
    for exc_type in (OpsloopError, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(exc_type, _html_or(app.exception_handlers[exc_type]))
    app.add_exception_handler(Exception, _html_500(app.exception_handlers[Exception]))

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, _: CsrfFailed) -> Response:
        return error_page(
            request,
            403,
            "The form was stale or not sent by opsloop. Reload the page and try again.",
        )
