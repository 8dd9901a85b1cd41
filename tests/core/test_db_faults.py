"""Database faults answer as HTTP errors a client can act on, and the connection budget of
``opsloop serve`` fits PostgreSQL's ``max_connections``."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from opsloop.app import create_app
from opsloop.core.auth.secrets import new_token
from opsloop.core.config import Settings
from opsloop.core.db import (
    CONNECTIONS_PER_PROCESS,
    SPARE_CONNECTIONS,
    Database,
    connection_budget_problem,
    usable_connections,
)
from opsloop.core.deps import WriteSession
from opsloop.slo.models import SLO
from tests.helpers import BIN, bearer

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def slo_row(name: str) -> SLO:
    return SLO(
        service="checkout",
        name=name,
        source="push",
        spec="",
        objective=99.9,
        owner="",
        period_started_at=NOW,
        policy_state="no_data",
        policy_state_since=NOW,
        created_at=NOW,
        updated_at=NOW,
    )


def app_with_faults(db: Database, tmp_path: Path) -> FastAPI:
    settings = Settings(database_url=db.url, data_dir=tmp_path, scheduler_enabled=False)
    app = create_app(settings, db)

    def duplicate(session: WriteSession) -> None:
        # What two requests inserting the same key at once amount to.
        session.add_all([slo_row("twin"), slo_row("twin")])
        session.flush()

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test/duplicate", duplicate, methods=["POST"])
    app.add_api_route("/test/broken", broken)
    return app


def test_a_unique_key_race_answers_409_naming_the_key(db: Database, tmp_path: Path) -> None:
    with TestClient(app_with_faults(db, tmp_path)) as client:
        response = client.post("/test/duplicate")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert error["message"] == "service, name is already taken (another request stored it first)"
    with db.read() as session:
        assert session.query(SLO).count() == 0


def test_a_database_outage_answers_503_with_retry_after(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = Database(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test")
    settings = Settings(database_url=down.url, data_dir=tmp_path, scheduler_enabled=False)
    with TestClient(create_app(settings, down)) as client:
        response = client.get("/api/v1/slos", headers=bearer(new_token()))
    down.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "database_unavailable"


@contextmanager
def uvicorn_serving(app: FastAPI) -> Iterator[int]:
    """The app under uvicorn (what ``opsloop serve`` runs) on a free port, in this process so
    that a test route can fail on purpose."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        thread.join(20)


def exchange(conn: socket.socket, path: str) -> bytes:
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    conn.settimeout(10)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = conn.recv(65536)
        if not chunk:
            return received
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_a_500_keeps_the_keep_alive_connection_usable(db: Database, tmp_path: Path) -> None:
    with (
        uvicorn_serving(app_with_faults(db, tmp_path)) as port,
        socket.create_connection(("127.0.0.1", port)) as conn,
    ):
        first = exchange(conn, "/test/broken")
        assert first.startswith(b"HTTP/1.1 500 ")
        assert b'"code":"internal"' in first
        # The next request on the same connection: the server used to drop the socket here.
        second = exchange(conn, "/healthz")
        assert second.startswith(b"HTTP/1.1 200 "), second


def test_connection_budget_fits_workers_into_max_connections() -> None:
    assert CONNECTIONS_PER_PROCESS == 40 and SPARE_CONNECTIONS == 5
    # PostgreSQL's defaults: max_connections 100, 3 reserved for superusers -> 97 usable.
    assert connection_budget_problem(97, 1) is None
    assert connection_budget_problem(97, 2) is None  # 2 x 40 + 5 = 85
    assert connection_budget_problem(97, 3) == (
        "3 worker(s) x 40 connections each + 5 spare = 125, but PostgreSQL allows 97 "
        "(max_connections minus reserved); set OPSLOOP_WORKERS (or --workers) to at most 2, "
        "or raise max_connections"
    )
    assert connection_budget_problem(45, 1) is None  # exactly 40 + 5
    assert "cannot take even one worker" in (connection_budget_problem(44, 1) or "")


def test_serve_refuses_more_workers_than_postgresql_takes(
    pg_database_url: str, tmp_path: Path
) -> None:
    url = make_url(pg_database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
        reserved = int(conn.execute("SHOW superuser_reserved_connections").fetchone()[0])  # type: ignore[index]
    db = Database(pg_database_url)
    assert usable_connections(db) == max_connections - reserved
    db.dispose()
    workers = (max_connections - reserved) // CONNECTIONS_PER_PROCESS + 1
    result = subprocess.run(
        [BIN / "opsloop", "serve", "--workers", str(workers)],
        env={"OPSLOOP_DATABASE_URL": pg_database_url, "OPSLOOP_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {workers} worker(s) x 40"), lines
    assert "OPSLOOP_WORKERS" in lines[0]
