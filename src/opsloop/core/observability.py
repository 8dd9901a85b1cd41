"""Request ids, structured logs and Prometheus metrics for opsloop itself.

The middleware is plain ASGI rather than Starlette's BaseHTTPMiddleware: it sits on every
request, and the plain form costs a fraction as much.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time

from fastapi.telemetry import TelemetryConfig
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsloop.core.requestctx import reset_request_id, set_request_id

log = logging.getLogger("opsloop.access")

REQUESTS = Counter(
    "opsloop_http_requests_total",
    "HTTP requests served, by route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "opsloop_http_request_duration_seconds",
    "Time to serve an HTTP request, by route template and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class _RequestIds:
    """32 hex digits, as a UUID's: 16 random to this process, then a count. A uuid4 per
    request cost a getrandom call and a UUID object, about a tenth of a small request's time."""

    def __init__(self) -> None:
        self.restart()
        # A forked child must not count on from its parent's prefix.
        os.register_at_fork(after_in_child=self.restart)

    def restart(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._count = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._count):016x}"


_request_ids = _RequestIds()


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id") or ""
        client_request_id = incoming if _INCOMING_ID.match(incoming) else ""
        # The response echoes the server's id: it is the one the logs and the audit trail use.
        request_id = _request_ids.next()
        token = set_request_id(request_id, client=client_request_id)
        # Also in the scope: the 500 handler runs outside this middleware, after the reset.
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route, str(status)).observe(elapsed)
            if log.isEnabledFor(logging.INFO):  # skip building the record's fields when off
                log.info(
                    "%s %s %d %.1fms",
                    method,
                    scope["path"],
                    status,
                    elapsed * 1000,
                    extra={
                        "route": route,
                        "status": status,
                        "duration_ms": elapsed * 1000,
                        "client_request_id": client_request_id,
                    },
                )
            reset_request_id(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _route_template(scope: Scope) -> str:
    # Templates, not raw paths, keep label cardinality bounded (/users/{username}, not /users/a).
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


#: OpenTelemetry's stand-ins for a provider nobody has set (type names, as FastAPI checks them).
_UNSET_PROVIDERS = ("ProxyTracerProvider", "_ProxyMeterProvider", "ProxyLoggerProvider")


def fastapi_telemetry() -> TelemetryConfig:
    """FastAPI's own OpenTelemetry signals, on for those whose provider is set when the app is
    built (as ``opentelemetry-instrument`` sets them, before the app is imported). Left to
    itself FastAPI asks OpenTelemetry on every request whether one has been set since, reading
    the environment each time: about 5% of a kept list's request, for nothing when none is."""
    if os.environ.get("FASTAPI_OTEL_AUTO_CONFIGURE", "").lower() == "true":
        return {}  # FastAPI sets the providers up itself at start: keep its defaults
    from opentelemetry import _logs, metrics, trace

    def is_set(provider: object) -> bool:
        return type(provider).__name__ not in _UNSET_PROVIDERS

    return {
        "tracing": is_set(trace.get_tracer_provider()),
        "metrics": is_set(metrics.get_meter_provider()),
        "logs": is_set(_logs.get_logger_provider()),
    }


def metrics_payload(domain: CollectorRegistry) -> tuple[bytes, str]:
    """opsloop's own process metrics (summed over workers when there are several), then the
    domains' series, which are read from the database and so are the same in every worker."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        own = generate_latest(registry)
    else:
        own = generate_latest(DEFAULT_REGISTRY)
    return own + generate_latest(domain), CONTENT_TYPE_LATEST
