"""``serve``'s database set-up beside the import of the app: in a forked child when the schema
is behind, on SQLite and PostgreSQL, and its failures as the CLI reports them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import typer
from sqlalchemy import inspect, make_url

from opsloop import db_setup
from opsloop.core import migrate
from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.core.errors import Conflict
from tests.conftest import PG_URL
from tests.helpers import running_server


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'opsloop.db'}", pool_size=2)
        yield db
        db.dispose()
        return
    name = f"opsloop_test_setup_{uuid.uuid4().hex[:8]}"
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(drivername="postgresql+psycopg", database=name)
    db = Database(url.render_as_string(hide_password=False), pool_size=2)
    try:
        yield db
    finally:
        db.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_schema_behind_is_migrated_in_another_process(empty_db: Database) -> None:
    def work() -> dict[str, str]:
        migrate.upgrade(empty_db.engine)
        return {"pid": str(os.getpid())}

    setup = db_setup.begin(empty_db, work)
    assert setup.in_child
    assert setup.result()["pid"] != str(os.getpid())
    # The child's migrations are the whole chain, triggers included.
    assert not migrate.pending(empty_db.engine)
    assert "audit_records" in inspect(empty_db.engine).get_table_names()
    # On an up-to-date schema the work is a few queries, made here.
    again = db_setup.begin(empty_db, work)
    assert not again.in_child
    assert again.result()["pid"] == str(os.getpid())


def test_a_failed_set_up_exits_with_its_one_line(
    empty_db: Database, capfd: pytest.CaptureFixture[str]
) -> None:
    def work() -> dict[str, str]:
        raise Conflict("the admin password file is not writable")

    setup = db_setup.begin(empty_db, work)
    assert setup.in_child
    with pytest.raises(typer.Exit) as failed:
        setup.result()
    assert failed.value.exit_code == 2  # as the CLI exits on a conflict
    assert "error: the admin password file is not writable" in capfd.readouterr().err
    assert migrate.pending(empty_db.engine)  # nothing was half applied


def test_an_unexpected_error_in_the_child_is_logged_and_fails(empty_db: Database) -> None:
    def work() -> dict[str, str]:
        raise RuntimeError("boom")

    with pytest.raises(typer.Exit) as failed:
        db_setup.begin(empty_db, work).result()
    assert failed.value.exit_code == 1


def test_two_workers_start_on_an_empty_database(empty_db: Database, tmp_path: Path) -> None:
    with running_server(
        tmp_path,
        "--workers",
        "2",
        OPSLOOP_DATABASE_URL=empty_db.url,
        OPSLOOP_DEMO_DATA="false",
        OPSLOOP_SCHEDULER_ENABLED="false",
    ) as (base, _):
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        log = (tmp_path / "server.log").read_text()
        # The generated password is shown once, by the supervisor, before it serves.
        created = log.index("Created user 'admin' with password '")
        assert created < log.index(" on http://127.0.0.1:")
        assert not migrate.pending(empty_db.engine)
        with empty_db.read() as session:
            assert auth.get_user(session, username="admin").role is Role.admin
