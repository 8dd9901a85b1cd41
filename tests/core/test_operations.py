"""opsloop's own health, readiness, metrics and logs."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from opsloop.app import create_app
from opsloop.core import migrate
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.logsetup import JsonFormatter, configure_logging
from opsloop.models import metadata


def test_readyz_reports_current_schema(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "schema": migrate.head_revision()}


def test_readyz_is_503_before_migrations(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    app = create_app(Settings(database_url=db.url, data_dir=tmp_path), db)
    with TestClient(app) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "opsloop db upgrade" in response.json()["reason"]
        assert client.get("/healthz").status_code == 200
    db.dispose()


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/none")
    app = create_app(Settings(database_url=db.url, data_dir=tmp_path), db)
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("database unreachable")
    db.dispose()


def test_metrics_count_requests_by_route_template_and_status(client: TestClient) -> None:
    client.get("/api/v1/tokens/12345")  # 405-free GET on a templated route? no: use users
    client.patch("/api/v1/users/somebody", json={})
    text = client.get("/metrics").text
    assert (
        'opsloop_http_requests_total{method="PATCH",route="/api/v1/users/{username}",status="401"}'
        in text
    )
    assert "opsloop_http_request_duration_seconds_bucket{" in text
    assert 'route="/api/v1/users/somebody"' not in text


def test_request_id_is_made_when_missing_and_sanitised(client: TestClient) -> None:
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32
    hostile = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert hostile.headers["x-request-id"] != "bad id\nwith newline"


def test_json_log_lines_carry_the_request_id(client: TestClient) -> None:
    configure_logging("info", "json")
    records: list[logging.LogRecord] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    capture = Capture()
    logger = logging.getLogger("opsloop")
    for f in logger.handlers[0].filters:
        capture.addFilter(f)
    logger.addHandler(capture)
    try:
        client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    finally:
        logger.removeHandler(capture)
    access = [r for r in records if r.name == "opsloop.access"]
    assert access, "no access log line"
    line = json.loads(JsonFormatter().format(access[-1]))
    assert line["client_request_id"] == "trace-123"
    assert len(line["request_id"]) == 32 and line["request_id"] != "trace-123"
    assert line["route"] == "/healthz" and line["status"] == 200
    assert line["level"] == "info"


def test_unexpected_errors_are_500_in_the_error_shape_without_details(
    settings: Settings, db: Database
) -> None:
    app = create_app(settings, db)

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/boom", headers={"X-Request-ID": "r-1"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal" and response.headers["x-request-id"] in error["message"]
    assert "secret internals" not in response.text


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []


def test_timestamps_come_back_aware_utc(db: Database) -> None:
    from opsloop.core.auth.roles import Role
    from tests.helpers import make_user

    make_user(db, "tz", Role.viewer)
    from opsloop.core.auth import service

    with db.read() as session:
        user = service.get_user(session, username="tz")
    assert user.created_at.utcoffset() is not None
    assert user.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
    db.dispose()


def test_sqlite_connections_keep_a_small_page_cache(tmp_path: Path) -> None:
    # A serve worker pools 40 connections; at SQLite's default 2 MiB each, their page caches
    # alone took up to 80 MB of the worker's memory.
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -1024  # KiB
    db.dispose()


def test_downgrade_and_upgrade_round_trip(db: Database) -> None:
    from alembic import command

    cfg = migrate._config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert migrate.current_revision(db.engine) is None
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(db.engine)
    assert not migrate.pending(db.engine)
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_request_ids_are_unique_in_a_process_and_across_a_fork() -> None:
    from opsloop.core.observability import _request_ids

    ids = [_request_ids.next() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, _request_ids.next().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    in_child = os.read(read, 64).decode()
    os.close(read)
    in_parent = _request_ids.next()
    assert in_child != in_parent
    assert in_child[:16] != in_parent[:16]


@pytest.mark.parametrize("provider_set", [False, True])
def test_fastapi_asks_opentelemetry_per_request_only_when_a_provider_is_set(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch, provider_set: bool
) -> None:
    from opentelemetry import trace

    class SdkTracerProvider(trace.NoOpTracerProvider):
        """Stands for a provider set up before the app, as opentelemetry-instrument does."""

    provider = SdkTracerProvider() if provider_set else trace.get_tracer_provider()
    asked: list[object] = []

    def get_tracer_provider() -> trace.TracerProvider:
        asked.append(provider)
        return provider

    monkeypatch.setattr(trace, "get_tracer_provider", get_tracer_provider)
    with TestClient(create_app(settings, db)) as client:
        asked.clear()  # what building the app and starting it asked is not per request
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
    assert len(asked) >= 3 if provider_set else asked == []
