"""Property-based fuzzing of the whole API from its own OpenAPI document: whatever a client
sends, opsloop answers with a 2xx or a 4xx in the error shape — never a 500."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from opsloop.core.db import Database

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_request_makes_a_server_error(db: Database, tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLOOP_")}
    env.update(
        OPSLOOP_DATABASE_URL=db.url,
        OPSLOOP_DATA_DIR=str(tmp_path),
        OPSLOOP_PORT=str(port),
        OPSLOOP_ADMIN_PASSWORD="fuzzing-admin-pw",
        OPSLOOP_LOG_LEVEL="warning",
        OPSLOOP_SCHEDULER_ENABLED="false",
    )
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([BIN / "opsloop", "serve"], env=env, stdout=log, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail(
                "opsloop serve did not become ready:\n" + (tmp_path / "server.log").read_text()
            )
        token = subprocess.run(
            [BIN / "opsloop", "token", "create", "--user", "admin", "--role", "admin"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        result = subprocess.run(
            [
                BIN / "schemathesis",
                "run",
                f"{base}/api/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "40",
                "--seed",
                "20261125",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            cwd=tmp_path,
        )
        assert result.returncode == 0, (
            result.stdout[-6000:] + (tmp_path / "server.log").read_text()[-4000:]
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
