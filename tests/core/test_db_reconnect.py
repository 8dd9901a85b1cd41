"""Pooled PostgreSQL connections are not pinged before use: when the server drops them, one
request may answer 503 (with Retry-After) and the pool reconnects for the next ones."""

from __future__ import annotations

from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from opsloop.app import create_app
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.helpers import bearer, make_token, make_user


def test_dropped_connections_cost_at_most_one_request(pg_database_url: str, tmp_path: Path) -> None:
    db = Database(pg_database_url)
    make_user(db, "viewer", Role.viewer)
    token = bearer(make_token(db, "viewer", Role.viewer))
    settings = Settings(database_url=db.url, data_dir=tmp_path, scheduler_enabled=False)
    with TestClient(create_app(settings, db)) as client:
        assert client.get("/api/v1/slos", headers=token).status_code == 200
        libpq = pg_database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(libpq, autocommit=True) as admin:
            dropped = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert dropped is not None and dropped[0] >= 1
        statuses = [client.get("/api/v1/slos", headers=token) for _ in range(5)]
    db.dispose()
    failed = [r for r in statuses if r.status_code != 200]
    assert len(failed) <= 1
    for response in failed:
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert statuses[-1].json() == {"items": [], "next_cursor": None}
