"""HTTP hardening as plain ASGI middleware (no BaseHTTPMiddleware: it would buffer bodies).

- ``SecurityHeaders``: CSP and friends on every response, ``no-store`` on everything but
  static files, HSTS when cookies are marked Secure (that is, when served over HTTPS).
- ``BodyGuard``: refuses bodies over the limit with 413 before reading them (by
  Content-Length, and by counting chunks of bodies sent without one), and answers 408 when a
  client stops sending its body half-way.
- ``ApiAuthGate``: authenticates ``/api/v1`` requests before anything reads their body, so an
  anonymous 100 MB upload costs a 401 and no memory.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsloop.core import api_errors
from opsloop.core.api_errors import DATABASE_DOWN
from opsloop.core.auth.roles import Principal
from opsloop.core.errors import OpsloopError

# No inline script or style anywhere: templates load /static files only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
API_PREFIX = "/api/v1/"
STATIC_PREFIX = "/static/"
PUSH_PATHS_SUFFIX = "/events"  # /api/v1/events and /api/v1/slos/{id}/events: bulk pushes
#: Alertmanager's webhook carries whole alert groups; it shares the push limit
#: (OPSLOOP_MAX_PUSH_BODY_BYTES).
ALERT_WEBHOOK_PATH = "/api/v1/alerts/alertmanager"
#: A CSV file of past incidents: bulk input too, under the same limit.
INCIDENT_IMPORT_PATH = "/api/v1/incidents/import"


async def _send_json(send: Send, status: int, code: str, message: str, **headers: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "field": None}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        # Built once: these are the same on every response.
        always = [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if hsts:
            always.append((b"strict-transport-security", HSTS.encode()))
        self.static_headers = tuple(always)
        self.other_headers = (*always, (b"cache-control", b"no-store"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope["path"]).startswith(STATIC_PREFIX)
        extra = self.static_headers if cacheable else self.other_headers

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyGuard:
    def __init__(
        self, app: ASGIApp, *, max_bytes: int, max_push_bytes: int, read_timeout: float
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_push_bytes = max_push_bytes
        self.read_timeout = read_timeout

    def limit_for(self, path: str) -> int:
        if path.startswith(API_PREFIX) and path.endswith(PUSH_PATHS_SUFFIX):
            return self.max_push_bytes
        if path in (ALERT_WEBHOOK_PATH, INCIDENT_IMPORT_PATH):
            return self.max_push_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(str(scope["path"]))
        too_large = f"the request body is larger than {limit} bytes"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _send_json(send, 413, "payload_too_large", too_large, connection="close")
            return
        received = 0
        body_done = False

        async def guarded_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                # Waiting for a disconnect is not reading a body: no timeout here.
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except TimeoutError:
                raise HTTPException(408, "the request body arrived too slowly") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, too_large)
                body_done = not message.get("more_body", False)
            return message

        watch = api_errors.ResponseWatch(send)
        try:
            await self.app(scope, guarded_receive, watch.send)
        except HTTPException as exc:
            # Raised from receive() where no handler turned it into a response.
            if watch.started or exc.status_code not in (408, 413):
                raise
            code = "payload_too_large" if exc.status_code == 413 else "request_timeout"
            await _send_json(send, exc.status_code, code, str(exc.detail), connection="close")


Authenticator = Callable[[Scope, str], Awaitable[Principal]]


class ApiAuthGate:
    """Checks the bearer token of every /api/v1 request before the body is touched.

    The principal is left in ``scope["state"]`` for the endpoint's dependency. A refused
    request still goes through routing (so 404s, 405s and metrics by route stay as they were),
    but with a body that cannot be read: reading it raises the 401 at once, and the response
    closes the connection so the server does not take in the rest of the upload either.
    """

    def __init__(self, app: ASGIApp, *, authenticate: Authenticator) -> None:
        self.app = app
        self.authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        state = scope.setdefault("state", {})
        try:
            state["principal"] = await self.authenticate(scope, header)
        except OpsloopError as exc:
            state["auth_error"] = exc
            await self.app(scope, _refusing(exc), _closing(send))
            return
        except DATABASE_DOWN as exc:
            # Outside the app's exception handlers: answer as they would (503, Retry-After).
            await api_errors.database_unavailable(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _refusing(error: OpsloopError) -> Receive:
    async def receive() -> Message:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        raise HTTPException(error.status, error.message, headers=headers)

    return receive


def _closing(send: Send) -> Send:
    async def closing_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), (b"connection", b"close")]
            message = {**message, "headers": headers}
        await send(message)

    return closing_send
