"""What both alert benchmarks stand on: ``opsloop serve --workers 2`` (scheduler on, log level
warning) on a fresh data directory with SQLite, or on a fresh PostgreSQL database named after
the benchmark, and an admin token to post with. The database is dropped at the end."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "perf"))
import procs

OPSLOOP = str(Path(sys.executable).parent / "opsloop")


@dataclass(frozen=True)
class Served:
    url: str  # the database's
    port: int
    token: str


@contextmanager
def served(backend: str, name: str) -> Iterator[Served]:
    """The server, ready, for the block; stopped after it and its PostgreSQL database dropped."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    url = procs.pg_create(name) if backend == "postgresql" else f"sqlite:///{data_dir}/opsloop.db"
    port = procs.free_port()
    env = {
        "OPSLOOP_DATA_DIR": str(data_dir),
        "OPSLOOP_DATABASE_URL": url,
        "OPSLOOP_PORT": str(port),
        "OPSLOOP_LOG_LEVEL": "warning",
        "OPSLOOP_ADMIN_PASSWORD": "bench-admin-password-0123",
    }
    server = procs.Server(
        "opsloop", [OPSLOOP, "serve", "--workers", "2"], env, port, data_dir / "server.log"
    )
    try:
        server.wait_ready("/readyz")
        out = subprocess.run(
            [OPSLOOP, "token", "create", "--user", "admin", "--role", "admin", "--name", "b"],
            env={**procs.os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        yield Served(url, port, re.findall(r"opl_[A-Za-z0-9_\-]+", out)[0])
    finally:
        server.stop()
        if backend == "postgresql":
            procs.pg_drop(name)
