"""``opsloop change`` and ``opsloop freeze``: what they print, what they refuse (exit 2, one
line, nothing changed) and what they write. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from opsloop.core import clock
from opsloop.core.db import Database
from tests.changes.helpers import future, make_people, make_service, row_counts
from tests.cli_run import Invoked, assert_clean_failure, invoke


@pytest.fixture
def opsloop(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database):  # type: ignore[no-untyped-def]
    def run(*args: str, **env: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args, **env)

    return run


@pytest.fixture
def ready(db: Database, at_now: clock.FrozenClock) -> Database:
    make_service(db, "checkout")
    make_people(db)
    return db


def test_submit_decide_schedule_and_run_a_change(opsloop, ready: Database) -> None:  # type: ignore[no-untyped-def]
    submitted = opsloop(
        "change", "submit", "Rotate TLS certificates", "--service", "checkout",
        "--category", "security", "--requester", "alice", "--risk", "high",
        "--rollback-plan", "restore the old bundle",
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.startswith("CR-2026-001 submitted")
    key = "CR-2026-001"
    assert opsloop("change", "approve", key, "--as", "bob", "--comment", "ok").returncode == 0
    second = opsloop("change", "approve", key, "--as", "carol", "--json")
    assert json.loads(second.stdout)["state"] == "approved"
    when = future(4).strftime("%Y-%m-%dT%H:%M")
    scheduled = opsloop("change", "schedule", key, "--start", when, "--duration", "45")
    assert scheduled.returncode == 0 and "window" in scheduled.stdout
    assert opsloop("change", "start", key).returncode == 0
    assert opsloop("change", "complete", key, "--note", "done").returncode == 0
    rolled = opsloop("change", "rollback", key, "--reason", "clients failed handshakes")
    assert rolled.returncode == 0 and "[rolled_back]" in rolled.stdout
    shown = opsloop("change", "show", key, "--history")
    assert "approved by bob" in shown.stdout and "in_progress → completed" in shown.stdout
    listed = opsloop("change", "list", "--state", "rolled_back")
    assert key in listed.stdout
    drafted = opsloop(
        "change", "submit", "Resize nodes", "--service", "checkout", "--category",
        "infrastructure", "--requester", "alice", "--model", "standard", "--draft",
    )  # fmt: skip
    assert drafted.stdout.startswith("CR-2026-002 draft")
    updated = opsloop("change", "update", "CR-2026-002", "--title", "Resize the nodes")
    assert updated.returncode == 0 and "Resize the nodes" in updated.stdout


def test_bad_input_exits_2_with_one_line_and_changes_nothing(opsloop, ready: Database) -> None:  # type: ignore[no-untyped-def]
    opsloop(
        "change", "submit", "Own change", "--service", "checkout", "--category", "database",
        "--requester", "bob", "--rollback-plan", "undo",
    )  # fmt: skip
    before = row_counts(ready)
    cases = [
        (("change", "submit", "x", "--service", "chekout", "--category", "database",
          "--requester", "alice", "--rollback-plan", "undo"), "service"),
        (("change", "submit", "x", "--service", "checkout", "--category", "database",
          "--requester", "alice"), "rollback_plan"),
        (("change", "submit", "x", "--service", "checkout", "--category", "database",
          "--requester", "alice", "--risk", "extreme", "--rollback-plan", "undo"), "--risk"),
        (("change", "approve", "CR-2026-001", "--as", "bob"), "cannot decide"),
        (("change", "approve", "CR-2026-001", "--as", "alice"), "approver role"),
        (("change", "schedule", "CR-2026-001", "--start", "soon", "--duration", "5"), "--start"),
        (("change", "start", "CR-2026-001"), "cannot move"),
        (("change", "show", "CR-2026-404"), "no change"),
        (("freeze", "add", "x", "--start", "2026-11-03", "--end", "2026-11-01"), "ends_at"),
        (("freeze", "delete", "7"), "no freeze"),
        (("freeze", "delete", "99999999999"), "no freeze"),
    ]  # fmt: skip
    for args, expected in cases:
        line = assert_clean_failure(opsloop(*args))
        assert expected in line, (args, line)
    assert row_counts(ready) == before


def test_freezes_from_the_terminal(opsloop, ready: Database) -> None:  # type: ignore[no-untyped-def]
    start, end = future(24).strftime("%Y-%m-%dT%H:%M"), future(48).strftime("%Y-%m-%dT%H:%M")
    added = opsloop(
        "freeze", "add", "Launch", "--start", start, "--end", end, "--service", "checkout",
        "--reason", "product launch",
    )  # fmt: skip
    assert added.returncode == 0 and added.stdout.startswith("freeze 1:")
    listed = opsloop("freeze", "list", "--json")
    assert [f["name"] for f in json.loads(listed.stdout)] == ["Launch"]
    assert opsloop("freeze", "delete", "1").returncode == 0
    assert "no freezes ahead" in opsloop("freeze", "list").stderr
