"""The CLI as users run it: a real process, its exit code and its output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from opsloop.core.db import Database
from tests.cli_run import assert_clean_failure, invoke, run
from tests.helpers import append_only_guard_dropped


def test_users_tokens_and_audit_round_trip(db: Database, tmp_path: Path) -> None:
    assert run(db, "user", "create", "alice", "--role", "responder").returncode == 0
    created = run(db, "token", "create", "--user", "alice", "--role", "responder")
    assert created.returncode == 0
    token = created.stdout.strip()
    assert token.startswith("opl_") and len(token) > 40
    listed = run(db, "token", "list")
    assert "alice" in listed.stdout and token not in listed.stdout

    verified = run(db, "audit", "verify")
    assert verified.returncode == 0 and "intact: 2 records" in verified.stdout

    out = tmp_path / "audit.csv"
    exported = run(db, "audit", "export", "--format", "csv", "-o", str(out))
    assert exported.returncode == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("seq,at,actor,action") and len(lines) == 3
    as_json = json.loads(run(db, "audit", "export", "--format", "json").stdout)
    assert [r["action"] for r in as_json] == ["user.create", "token.create"]
    assert as_json[0]["actor"].startswith("cli:")
    assert token not in json.dumps(as_json)


def test_export_time_window(db: Database) -> None:
    run(db, "user", "create", "bob", "--role", "viewer")
    future = run(db, "audit", "export", "--since", "2999-01-01T00:00:00Z")
    assert json.loads(future.stdout) == []
    past = run(db, "audit", "export", "--until", "2999-01-01", "--since", "2000-01-01")
    assert len(json.loads(past.stdout)) == 1


@pytest.fixture
def guard_restored(db: Database) -> Iterator[Database]:
    """PostgreSQL keeps a disabled trigger across TRUNCATE: re-enable it for the next test."""
    yield db
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_records ENABLE TRIGGER USER"))


def test_verify_names_the_first_bad_record(guard_restored: Database) -> None:
    db = guard_restored
    for name in ("a1", "a2", "a3"):
        run(db, "user", "create", name, "--role", "viewer")
    head = run(db, "audit", "head").stdout.strip()
    assert head.startswith("3:")
    with append_only_guard_dropped(db), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET actor = 'mallory' WHERE seq = 2"))
    result = run(db, "audit", "verify")
    assert result.returncode == 1
    assert "record 2" in result.stderr


def test_verify_anchor_catches_truncation(guard_restored: Database) -> None:
    db = guard_restored
    for name in ("b1", "b2"):
        run(db, "user", "create", name, "--role", "viewer")
    anchor = run(db, "audit", "head").stdout.strip()
    with append_only_guard_dropped(db), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE seq = 2"))
    assert run(db, "audit", "verify").returncode == 0  # a clean cut is invisible from inside
    result = run(db, "audit", "verify", "--anchor", anchor)
    assert result.returncode == 1 and "truncated" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("user", "create", "x", "--role", "overlord"), "unknown role"),
        (("user", "create", "Bad Name", "--role", "viewer"), "username"),
        (("token", "create", "--user", "ghost", "--role", "viewer"), "no user named"),
        (("token", "revoke", "12345"), "no token with id 12345"),
        (("audit", "export", "--format", "xml"), "--format"),
        (("audit", "export", "--since", "last tuesday"), "--since"),
        (("audit", "verify", "--anchor", "nonsense"), "--anchor"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    db: Database, args: tuple[str, ...], expected: str
) -> None:
    line = assert_clean_failure(run(db, *args))
    assert line.startswith("error:") and expected in line


def test_usage_errors_exit_2(db: Database) -> None:
    result = run(db, "token", "create", "--user", "x")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--role" in result.stderr


def test_duplicate_user_changes_nothing(db: Database) -> None:
    run(db, "user", "create", "carol", "--role", "viewer")
    assert_clean_failure(run(db, "user", "create", "carol", "--role", "admin"))
    assert "intact: 1 records" in run(db, "audit", "verify").stdout


def test_password_from_stdin_is_checked(db: Database) -> None:
    line = assert_clean_failure(
        run(db, "user", "create", "dan", "--role", "viewer", "--password-stdin", stdin="short\n")
    )
    assert "at least" in line
    ok = run(
        db,
        "user",
        "create",
        "dan",
        "--role",
        "viewer",
        "--password-stdin",
        stdin="long enough pw\n",
    )
    assert ok.returncode == 0


def test_invalid_setting_fails_in_one_line(db: Database) -> None:
    line = assert_clean_failure(run(db, "config", "show", OPSLOOP_PORT="eighty"))
    assert "OPSLOOP_PORT" in line


def test_config_show_masks_secrets(db: Database) -> None:
    result = run(db, "config", "show", "--json", OPSLOOP_SECRET_KEY="topsecret")
    shown = json.loads(result.stdout)
    assert shown["secret_key"] == "********" and "topsecret" not in result.stdout


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    fake = Database("postgresql+psycopg://postgres@127.0.0.1:1/none")
    result = run(fake, "user", "list")
    assert_clean_failure(result, code=1)
    fake.dispose()


def test_version_flag_and_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsloop import __version__

    assert run(None, "--version").stdout == f"opsloop {__version__}\n"
    assert invoke(capsys, monkeypatch, None, "version").stdout == f"opsloop {__version__}\n"


def test_config_show_tells_unset_from_masked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke(capsys, monkeypatch, None, "config", "show", OPSLOOP_SECRET_KEY="topsecret")
    shown = result.stdout.splitlines()
    assert "secret_key = ********" in shown
    assert "admin_password = (not set)" in shown
    assert "prometheus_url = (not set)" in shown
    as_json = json.loads(invoke(capsys, monkeypatch, None, "config", "show", "--json").stdout)
    assert as_json["secret_key"] is None and as_json["admin_password"] is None


def test_never_migrated_sqlite_names_the_database_and_leaves_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "elsewhere"
    env = {"OPSLOOP_DATA_DIR": str(data_dir)}
    expected = (
        f"error: the database sqlite:///{data_dir}/opsloop.db has no opsloop schema; "
        "run 'opsloop db upgrade'"
    )
    assert assert_clean_failure(run(None, "slo", "status", **env), code=1) == expected
    for args in (("user", "list"), ("audit", "verify"), ("slo", "rules"), ("token", "list")):
        line = assert_clean_failure(invoke(capsys, monkeypatch, None, *args, **env), code=1)
        assert line == expected
    current = invoke(capsys, monkeypatch, None, "db", "current", **env)
    assert current.returncode == 0 and current.stdout.startswith("empty")
    assert not data_dir.exists()
    assert invoke(capsys, monkeypatch, None, "db", "upgrade", **env).returncode == 0
    assert invoke(capsys, monkeypatch, None, "user", "list", **env).returncode == 0


def test_never_migrated_postgresql_masks_the_password(
    pg_database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    import psycopg
    from sqlalchemy import make_url

    name = f"opsloop_unmigrated_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(pg_database_url).set(drivername="postgresql", database="postgres")
    admin = admin_url.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        # trust authentication ignores the password, so the URL may carry one for the test
        url = make_url(pg_database_url).set(database=name, password="hunter2")
        result = invoke(
            capsys, monkeypatch, None, "slo", "status",
            OPSLOOP_DATABASE_URL=url.render_as_string(hide_password=False),
        )  # fmt: skip
        line = assert_clean_failure(result, code=1)
        assert "hunter2" not in line and ":********@" in line and name in line
        assert "has no opsloop schema" in line and "opsloop db upgrade" in line
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_busy_port_is_one_line_naming_opsloop_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"OPSLOOP_PORT": str(port), "OPSLOOP_DATA_DIR": str(tmp_path / "data")}
        result = run(None, "serve", "--host", "127.0.0.1", **env)
    line = assert_clean_failure(result, code=2)
    assert line == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use; "
        "choose another port with --port or OPSLOOP_PORT"
    )
    assert result.stdout == "" and not (tmp_path / "data").exists()
