"""Property-based fuzzing of the whole API from its own OpenAPI document: whatever a client
sends, opsloop answers with a 2xx or a 4xx in the error shape — never a 500."""

from __future__ import annotations

import subprocess
from pathlib import Path

from opsloop.core.db import Database
from tests.helpers import BIN, running_server


def test_no_request_makes_a_server_error(db: Database, tmp_path: Path) -> None:
    with running_server(
        tmp_path,
        OPSLOOP_DATABASE_URL=db.url,
        OPSLOOP_ADMIN_PASSWORD="fuzzing-admin-pw",
        OPSLOOP_LOG_LEVEL="warning",
        OPSLOOP_SCHEDULER_ENABLED="false",
    ) as (base, env):
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
