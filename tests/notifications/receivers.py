"""Real receivers on 127.0.0.1 for the delivery tests: an HTTP server in a thread that answers
from a script, and the settings and helpers the tests share."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook

from opsloop.core.config import Settings
from opsloop.core.db import Database

HANG = -1


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next of ``script`` (status, headers), the last one
    repeating; HANG accepts the request and never answers until the receiver stops."""

    script: list[tuple[int, dict[str, str]]]
    received: list[Received] = field(default_factory=list)
    url: str = ""
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> tuple[int, dict[str, str]]:
        with self.lock:
            index = min(len(self.received) - 1, len(self.script) - 1)
            return self.script[index]

    def verified(self, secret: str) -> list[Any]:
        """Every body, checked with the reference verifier (raises if any does not verify)."""
        return [Webhook(secret).verify(r.body, r.headers) for r in self.received]

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


@contextmanager
def receiver(
    *script: tuple[int, dict[str, str]] | int,
    port: int = 0,
    on_request: Callable[[], object] | None = None,
) -> Iterator[Receiver]:
    steps = [(s, {}) if isinstance(s, int) else s for s in script]
    state = Receiver(steps)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with state.lock:
                state.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
            if on_request is not None:
                on_request()
            status, headers = state.answer()
            if status == HANG:
                state.released.wait(60)
                return
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def notify_settings(db: Database, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db.url,
        "data_dir": tmp_path / "data",
        "scheduler_enabled": False,
        "notifications_allow_private_targets": True,
        "notification_timeout_seconds": 2,
        "notification_retry_base_seconds": 1,
        "notification_retry_cap_seconds": 2,
        "notification_max_attempts": 3,
        **overrides,
    }
    return Settings(**values)
