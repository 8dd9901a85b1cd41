"""The ids of the request being served, for logs and the audit trail.

The server makes its own id for every request, so that an id in the audit trail always names
exactly one request in the server's logs. An ``X-Request-ID`` sent by the client is kept beside
it, never instead of it: a client can send any id, including one already used.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestIds:
    server: str = ""
    client: str = ""


_NO_REQUEST = RequestIds()
_request_ids: ContextVar[RequestIds | None] = ContextVar("opsloop_request_ids", default=None)


def current_request_id() -> str:
    """The id the server made for this request ("" outside a request, e.g. in the CLI)."""
    return (_request_ids.get() or _NO_REQUEST).server


def current_client_request_id() -> str:
    """The id the client sent in ``X-Request-ID``, or ""."""
    return (_request_ids.get() or _NO_REQUEST).client


def set_request_id(server: str, *, client: str = "") -> Token[RequestIds | None]:
    return _request_ids.set(RequestIds(server=server, client=client))


def reset_request_id(token: Token[RequestIds | None]) -> None:
    _request_ids.reset(token)
