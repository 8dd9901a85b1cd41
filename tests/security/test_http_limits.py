"""Body size limits, authentication before the body, and read timeouts."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException

from opsloop.core.auth.roles import Role
from opsloop.core.http_security import ApiAuthGate
from tests.helpers import bearer, running_server

MiB = 1024 * 1024


def _events(count: int) -> dict[str, object]:
    return {
        "events": [
            {
                "slo": "checkout-service/availability-objective",
                "timestamp": f"2026-11-02T09:{i % 60:02d}:00+00:00",
                "good": 999_999_999,
                "total": 1_000_000_000,
            }
            for i in range(count)
        ]
    }


def test_bodies_over_the_limit_are_413_by_content_length(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    admin = bearer(tokens[Role.admin])
    response = client.post(
        "/api/v1/users", content=b"{" + b" " * MiB + b"}", headers=admin | _json()
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_over_the_limit_is_413(client: TestClient, tokens: dict[Role, str]) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"{"
        for _ in range(40):
            yield b" " * 64 * 1024
        yield b"}"

    response = client.post(
        "/api/v1/users", content=chunks(), headers=bearer(tokens[Role.admin]) | _json()
    )
    assert response.status_code == 413


def test_ten_thousand_bulk_events_fit_the_push_limit(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    body = json.dumps(_events(10_000)).encode()
    assert MiB < len(body) < 4 * MiB  # over the general limit, inside the push limit
    response = client.post(
        "/api/v1/events", content=body, headers=bearer(tokens[Role.responder]) | _json()
    )
    assert response.status_code != 413  # unknown SLO: a 4xx about the content, not the size


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}


def test_an_unauthenticated_body_is_never_read() -> None:
    reads = 0

    async def receive() -> dict[str, object]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * MiB, "more_body": True}

    async def app(scope: object, receive_: object, send: object) -> None:
        # What FastAPI does first for a route with a body: read it.
        await receive_()  # type: ignore[operator]

    async def refuse(scope: object, header: str) -> object:
        from opsloop.core.errors import Unauthorized

        raise Unauthorized("missing Authorization: Bearer token")

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    gate = ApiAuthGate(app, authenticate=refuse)  # type: ignore[arg-type]
    scope = {"type": "http", "path": "/api/v1/events", "headers": [], "method": "POST"}
    with pytest.raises(HTTPException) as refused:
        asyncio.run(gate(scope, receive, send))  # type: ignore[arg-type]
    assert reads == 0
    assert refused.value.status_code == 401


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _server_pid(data_dir: Path) -> int:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"serve" in cmdline and f"OPSLOOP_DATA_DIR={data_dir}".encode() in environ:
            return int(entry.name)
    raise AssertionError("server process not found")


def _raw(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


@pytest.mark.parametrize(
    ("framing", "expected"),
    [("content-length", b"HTTP/1.1 413"), ("chunked", b"HTTP/1.1 401")],
)
def test_a_real_server_answers_an_anonymous_100_mb_body_without_reading_it(
    tmp_path: Path, framing: str, expected: bytes
) -> None:
    """Declared too large: 413 from the headers. Chunked (size unknown): 401 from the auth
    gate. Either way the server closes the connection instead of reading 100 MB."""
    size = 100 * MiB
    piece = b" " * 256 * 1024
    if framing == "chunked":
        framing_header = b"Transfer-Encoding: chunked\r\n"
        piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    else:
        framing_header = f"Content-Length: {size}\r\n".encode()
    with running_server(
        tmp_path, OPSLOOP_ADMIN_PASSWORD="limits-test-pw", OPSLOOP_LOG_LEVEL="warning"
    ) as (base, _):
        pid = _server_pid(tmp_path)
        before = _rss_kib(pid)
        sock = _raw(base)
        sock.sendall(
            b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + framing_header
            + b"\r\n"
        )
        sent = 0
        try:
            while sent < size:
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass  # the server closed the connection: it will not read the rest
        reply = sock.recv(4096)
        sock.close()
        after = _rss_kib(pid)
    assert reply.startswith(expected), reply[:200]
    assert sent < size  # cut off long before the end
    assert after - before < 20 * 1024, (before, after)


def test_a_real_server_cuts_slow_and_idle_clients(tmp_path: Path) -> None:
    with running_server(
        tmp_path,
        OPSLOOP_ADMIN_PASSWORD="limits-test-pw",
        OPSLOOP_REQUEST_READ_TIMEOUT_SECONDS="1",
        OPSLOOP_LOG_LEVEL="warning",
    ) as (base, _):
        # Slow headers: the request line and one header, then nothing.
        slow_headers = _raw(base)
        slow_headers.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        # Slow body: headers promise 100 bytes, 10 arrive.
        slow_body = _raw(base)
        slow_body.sendall(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
            b"\r\nContent-Length: 100\r\n\r\nusername=a"
        )
        # Idle: connects and says nothing.
        idle = _raw(base)
        # Kept alive: one whole request, then a second one's headers arrive too slowly.
        kept = _raw(base)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while not first.endswith(b"}"):  # the health answer's JSON body, whole
            first += kept.recv(4096)
        time.sleep(0.6)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        replies = [_read_until_closed(s) for s in (slow_headers, slow_body, idle, kept)]
        elapsed = time.monotonic() - started
    assert replies[0].startswith(b"HTTP/1.1 408")
    assert replies[1].startswith(b"HTTP/1.1 408")
    assert replies[2] == b""
    assert first.startswith(b"HTTP/1.1 200")
    assert replies[3].startswith(b"HTTP/1.1 408")
    assert elapsed < 8


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            part = sock.recv(4096)
        except TimeoutError:
            pytest.fail("the server kept a slow client's connection open")
        if not part:
            sock.close()
            return data
        data += part
