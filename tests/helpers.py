"""Small builders used across the suite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.db import Database

BIN = Path(sys.executable).parent


def make_user(db: Database, username: str, role: Role, password: str | None = None) -> None:
    with db.write() as session:
        auth.create_user(session, principal=SYSTEM, username=username, role=role, password=password)


def make_token(db: Database, username: str, role: Role) -> str:
    with db.write() as session:
        _, plaintext = auth.create_token(session, principal=SYSTEM, username=username, role=role)
    return plaintext


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def append_only_guard_dropped(db: Database) -> Iterator[None]:
    """What an attacker with database access would do first. The guard is back afterwards even
    if the block fails: on PostgreSQL the database outlives the test."""
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_records DISABLE TRIGGER USER"))
            triggers = []
        else:
            triggers = list(
                conn.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master "
                        "WHERE type = 'trigger' AND tbl_name = 'audit_records'"
                    )
                )
            )
            for name, _ in triggers:
                conn.execute(text(f'DROP TRIGGER "{name}"'))
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            if db.dialect == "postgresql":
                conn.execute(text("ALTER TABLE audit_records ENABLE TRIGGER USER"))
            for _, sql in triggers:
                conn.execute(text(sql))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    tmp_path: Path, *args: str, port: int | None = None, **settings: str
) -> Iterator[tuple[str, dict[str, str]]]:
    """A real ``opsloop serve`` on ``port`` or a free one; yields its base URL and environment.

    It uses the database named by ``OPSLOOP_DATABASE_URL`` in ``settings`` (pass the ``db``
    fixture's ``url`` to run on both backends), else a new SQLite file under ``tmp_path``.
    """
    if port is None:
        port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSLOOP_", "PROMETHEUS_"))}
    env.update(OPSLOOP_DATA_DIR=str(tmp_path), OPSLOOP_PORT=str(port), **settings)
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [BIN / "opsloop", "serve", *args], env=env, stdout=log, stderr=log
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 300  # workers start slowly on a loaded machine
            while time.monotonic() < deadline:
                if server.poll() is not None:
                    pytest.fail(
                        f"opsloop serve exited with {server.returncode}:\n" + log_path.read_text()
                    )
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            else:
                pytest.fail("opsloop serve did not become ready:\n" + log_path.read_text())
            yield base, env
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


@contextmanager
def before_each_statement(db: Database, hook: Callable[[str], None]) -> Iterator[None]:
    """``hook(statement)`` before each SQL statement run on ``db`` while the block runs, in
    the thread that runs it."""

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        hook(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


@contextmanager
def statements_run(db: Database, containing: str = "") -> Iterator[list[str]]:
    """The SQL statements run on ``db`` while the block runs, as they run; only those that
    contain ``containing`` (compared with whitespace collapsed), if given."""
    seen: list[str] = []

    def note(statement: str) -> None:
        if containing in " ".join(statement.split()):
            seen.append(statement)

    with before_each_statement(db, note):
        yield seen
