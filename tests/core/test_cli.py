"""The CLI as users run it: a real process, its exit code and its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from opsloop.core.db import Database
from tests.helpers import append_only_guard_dropped

OPSLOOP = str(Path(sys.executable).parent / "opsloop")


def run(db: Database, *args: str, stdin: str | None = None, **env: str):  # type: ignore[no-untyped-def]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSLOOP_")}
    environ.update({"OPSLOOP_DATABASE_URL": db.url, **env})
    return subprocess.run(
        [OPSLOOP, *args], input=stdin, capture_output=True, text=True, env=environ, timeout=60
    )


def assert_clean_failure(result, code: int = 2) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


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


def test_verify_names_the_first_bad_record(db: Database) -> None:
    for name in ("a1", "a2", "a3"):
        run(db, "user", "create", name, "--role", "viewer")
    head = run(db, "audit", "head").stdout.strip()
    assert head.startswith("3:")
    with append_only_guard_dropped(db), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET actor = 'mallory' WHERE seq = 2"))
    result = run(db, "audit", "verify")
    assert result.returncode == 1
    assert "record 2" in result.stderr


def test_verify_anchor_catches_truncation(db: Database) -> None:
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
