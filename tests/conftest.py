"""Fixtures shared by the whole suite.

Every test that takes ``db`` runs twice: on SQLite and on PostgreSQL. PostgreSQL is not optional:
if it cannot be reached the run stops with a message saying how to start it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url, text

from opsloop.app import create_app
from opsloop.core import clock, migrate
from opsloop.core.auth.roles import Role
from opsloop.core.auth.secrets import set_password_cost
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.helpers import make_token, make_user

PG_URL = os.environ.get("OPSLOOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_HELP = (
    "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start "
    "(or point OPSLOOP_TEST_POSTGRES_URL at a server)"
)


#: Tests that take many seconds each: they run first, so that the workers run out of work at
#: about the same time instead of one starting a long test as the other finishes.
LONG_MARKERS = ("slow", "browser", "prometheus")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: every worker collects the same order, and the rest keep theirs.
    items.sort(key=lambda item: not any(item.get_closest_marker(m) for m in LONG_MARKERS))


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def pytest_sessionstart(session: pytest.Session) -> None:
    # Password hashing at production cost would dominate the suite's run time.
    set_password_cost(time_cost=1, memory_kib=1024)
    try:
        psycopg.connect(_libpq(PG_URL), connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.exit(f"PostgreSQL at {PG_URL} is not reachable ({exc}); {PG_HELP}", returncode=3)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A database of this worker's own, migrated once; tests empty it between them."""
    name = f"opsloop_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(drivername="postgresql+psycopg", database=name)
    rendered = url.render_as_string(hide_password=False)
    db = Database(rendered)
    migrate.upgrade(db.engine)
    db.dispose()
    yield rendered
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "opsloop.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


def _empty_postgres(db: Database) -> None:
    with db.engine.begin() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
        if tables:
            # A test that dropped the audit guard and failed to restore it must not weaken the
            # next test; replica mode lets this TRUNCATE past the guard, in this transaction only.
            conn.execute(text("ALTER TABLE audit_records ENABLE TRIGGER USER"))
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            joined = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "opsloop.db"
        shutil.copy(sqlite_template, path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("pg_database_url"))
        _empty_postgres(database)
    yield database
    database.dispose()


@pytest.fixture
def frozen_clock() -> Iterator[clock.FrozenClock]:
    from datetime import UTC, datetime

    fake = clock.FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    clock.set_clock(fake)
    yield fake
    clock.set_clock(None)


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    return Settings(database_url=db.url, data_dir=tmp_path / "data", scheduler_enabled=False)


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db)) as test_client:
        yield test_client


@pytest.fixture
def tokens(db: Database) -> dict[Role, str]:
    """One user per role (named after it) with a token of that role."""
    out = {}
    for role in Role:
        make_user(db, role.value, role, password="correct horse battery")
        out[role] = make_token(db, role.value, role)
    return out
