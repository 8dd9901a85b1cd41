"""A header read timeout for uvicorn, which has none of its own.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) but waits forever for the
request line and headers of a new request, and for any first byte on a fresh connection. This
protocol closes a connection that has not finished sending its headers within
``OPSLOOP_REQUEST_READ_TIMEOUT_SECONDS``; bodies are timed by opsloop.core.http_security.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from opsloop.core.config import load_settings

_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


@cache
def _header_timeout() -> float:
    # Read once per worker process (a protocol is made per connection), as create_app does.
    return load_settings().request_read_timeout_seconds


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """Each message's headers must be complete by a deadline. One timer per connection checks
    it: a deadline set or cleared is an attribute, not a timer scheduled and cancelled on every
    request, which cost a keep-alive request a few per cent of its time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = _header_timeout()
        self._header_timer: asyncio.TimerHandle | None = None
        self._headers_due: float | None = None
        self._reading_headers = False

    def _arm_header_timer(self) -> None:
        if self._headers_due is None:  # a connection's first message: counted from connecting
            self._headers_due = self.loop.time() + self.header_timeout
        if self._header_timer is None:
            self._header_timer = self.loop.call_at(self._headers_due, self._check_headers)

    def _disarm_header_timer(self) -> None:
        self._headers_due = None

    def _check_headers(self) -> None:
        self._header_timer = None
        due = self._headers_due
        if due is None:
            return  # nothing awaited now; the next message arms a timer again
        if self.loop.time() < due:
            # Armed again since this timer was set: wait for the newer deadline.
            self._header_timer = self.loop.call_at(due, self._check_headers)
            return
        if not self.transport.is_closing():
            if self._reading_headers:
                self.transport.write(_REQUEST_TIMEOUT)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers = True
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._disarm_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)
