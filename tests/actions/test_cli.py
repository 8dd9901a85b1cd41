"""``opsloop action``: what it prints, what it refuses (exit 2, one line, nothing changed) and
what it writes. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from opsloop.actions import service as actions
from opsloop.core import clock
from opsloop.core.db import Database
from tests.actions.helpers import add, incident, make_team
from tests.cli_run import Invoked, assert_clean_failure, invoke
from tests.services.helpers import audit_count


@pytest.fixture
def opsloop(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database):  # type: ignore[no-untyped-def]
    def run(*args: str, **env: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args, **env)

    return run


@pytest.fixture
def key(db: Database, frozen_clock: clock.FrozenClock) -> str:
    make_team(db, "payments", {"lena": "lead", "alice": "member"})
    return incident(db).key


def test_add_list_show_update(opsloop, db: Database, key: str) -> None:  # type: ignore[no-untyped-def]
    added = opsloop(
        "action", "add", "--incident", key, "--owner", "alice", "--priority", "P1",
        "--due", "2026-12-20", "Alert on pool saturation",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("added #1 to INC-2026-001 for alice")
    by_team = opsloop(
        "action", "add", "--incident", key.lower(), "--owner", "team:payments",
        "--due", "2026-11-10", "Runbook for pool exhaustion", "--json",
    )  # fmt: skip
    assert json.loads(by_team.stdout)["owner"] == "team:payments"
    listed = opsloop("action", "list", "--team", "payments")
    assert listed.returncode == 0 and "Alert" in listed.stdout and "Runbook" in listed.stdout
    only = json.loads(opsloop("action", "list", "--owner", "alice", "--json").stdout)
    assert [i["id"] for i in only] == [1]
    soon = json.loads(opsloop("action", "list", "--due-within", "7", "--json").stdout)
    assert soon == []  # 2026-11-02 + 7 = 11-09: neither is due by then
    updated = opsloop(
        "action", "update", "1", "--status", "in progress", "--note", "started",
        "--due", "2026-12-01", "--priority", "P2",
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    assert "[open -> in_progress]: started" in updated.stdout
    shown = opsloop("action", "show", "1")
    assert "#1 INC-2026-001 P2 in progress" in shown.stdout
    assert "owner: alice; due: 2026-12-01" in shown.stdout
    with db.read() as session:
        assert actions.get_item(session, item_id=1).status.value == "in_progress"


def test_bad_input_is_one_line_and_exit_2(opsloop, db: Database, key: str) -> None:  # type: ignore[no-untyped-def]
    add(db, key, owner_user="alice")
    before = audit_count(db)
    base = ("action", "add", "--incident", key, "--due", "2026-12-20")
    cases = [
        ((*base, "--owner", "ghost", "x"), "owner_user"),
        ((*base, "--owner", "team:ghosts", "x"), "owner_team"),
        ((*base, "--owner", "alice", "--priority", "P5", "x"), "--priority"),
        (("action", "add", "--incident", key, "--due", "soon", "--owner", "alice", "x"), "--due"),
        (
            (
                "action",
                "add",
                "--incident",
                "INC-2026-404",
                "--due",
                "2026-12-20",
                "--owner",
                "alice",
                "x",
            ),
            "INC-2026-404",
        ),
        (("action", "update", "1", "--status", "wont_do"), "note"),
        (("action", "update", "1", "--status", "finished"), "--status"),
        (("action", "update", "99", "--note", "x"), "no action item 99"),
        (("action", "show", "99"), "no action item 99"),
        (("action", "list", "--team", "ghosts"), "team"),
        (("action", "report", "--format", "xml"), "--format"),
    ]
    for args, expected in cases:
        line = assert_clean_failure(opsloop(*args))
        assert expected in line, line
    assert audit_count(db) == before


def test_escalate_and_report(
    opsloop, db: Database, key: str, frozen_clock: clock.FrozenClock
) -> None:  # type: ignore[no-untyped-def]
    late = add(db, key, owner_user="alice", due_on=date(2026, 11, 2), priority="P1")
    add(db, key, owner_team="payments", due_on=date(2026, 12, 20))
    frozen_clock.advance(timedelta(days=4))  # 11-06: 3 days overdue, level 1
    dry = opsloop("action", "escalate", "--dry-run")
    assert dry.returncode == 0 and f"would escalate #{late.id}" in dry.stdout
    assert "to lena" in dry.stdout
    done = opsloop("action", "escalate")
    assert f"escalated #{late.id} {key} level 1 (3 days overdue, owner alice) to lena" in (
        done.stdout
    )
    again = opsloop("action", "escalate")
    assert again.stdout == "" and "nothing to escalate" in again.stderr
    shown = opsloop("action", "show", str(late.id))
    assert "escalation 2026-11-06 09:00: level 1 to lena" in shown.stdout
    assert "3d overdue, escalated L1" in shown.stdout  # 11-06 09:00 - 11-03 00:00
    report = opsloop("action", "report")
    assert report.returncode == 0
    assert "| alice | 1 | 0 | 1 | 0 | 0 | 1 |" in report.stdout
    assert "escalated to level 1" in report.stdout
    data = json.loads(opsloop("action", "report", "--format", "json").stdout)
    assert data["by_priority"]["P1"]["overdue"] == 1
    assert data["by_owner"]["team:payments"]["open"] == 1
