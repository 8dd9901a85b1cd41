"""``opsloop service`` and ``opsloop team``: what they print, what they refuse (exit 2, one
line, nothing changed) and what they write. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.services import service as catalog
from opsloop.services import teams
from tests.cli_run import Invoked, assert_clean_failure, invoke
from tests.helpers import make_user
from tests.services.helpers import audit_count, make_slo

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def opsloop(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database):  # type: ignore[no-untyped-def]
    def run(*args: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args)

    return run


def test_apply_prints_a_summary_and_is_idempotent(opsloop, db: Database) -> None:  # type: ignore[no-untyped-def]
    make_user(db, "alice", Role.viewer)
    first = opsloop("service", "apply", "-f", str(FIXTURES / "catalog-info.yaml"))
    assert first.returncode == 0, first.stderr
    assert "service/payments-api: created" in first.stdout
    assert "team/team-web: created (implicit owner)" in first.stdout
    assert "skipped: document 5 (API payments-v1)" in first.stdout
    assert "5 created, 0 updated, 0 unchanged" in first.stderr
    before = audit_count(db)
    again = opsloop("service", "apply", "-f", str(FIXTURES / "catalog-info.yaml"))
    assert "0 created, 0 updated, 4 unchanged" in again.stderr
    assert audit_count(db) == before


def test_apply_refuses_bad_files_in_one_line(opsloop, db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: opsloop.dev/v1\nkind: Service\nmetadata: {name: [\n")
    line = assert_clean_failure(opsloop("service", "apply", "-f", str(broken)))
    assert "line 4, column 1" in line and "nothing was applied" in line
    bad = tmp_path / "bad.yaml"
    good = "apiVersion: opsloop.dev/v1\nkind: Service\nmetadata: {name: ok}\n"
    bad.write_text(good + "---\n" + good.replace("ok", "ok2") + "---\n" + good.replace("ok", "Bad"))
    line = assert_clean_failure(opsloop("service", "apply", "-f", str(bad)))
    assert "document 3 (Service Bad): metadata.name" in line
    assert_clean_failure(opsloop("service", "apply", "-f", str(tmp_path / "missing.yaml")))
    with db.read() as session:
        assert catalog.list_services(session) == []


def test_create_show_list_and_delete(opsloop, db: Database) -> None:  # type: ignore[no-untyped-def]
    make_user(db, "alice", Role.viewer)
    assert (
        opsloop(
            "team", "create", "team-a", "--email", "a@example.com", "--member", "alice=lead"
        ).returncode
        == 0
    )
    created = opsloop(
        "service",
        "create",
        "payments",
        "--owner",
        "team-a",
        "--tier",
        "1",
        "--link",
        "repository=https://git.example.com/p",
        "--label",
        "language=go",
    )
    assert created.returncode == 0, created.stderr
    make_slo(db, "checkout")
    listed = opsloop("service", "list")
    assert "payments" in listed.stdout and "team-a" in listed.stdout
    assert "unowned" in listed.stdout  # checkout, created by its SLO
    assert "checkout" not in opsloop("service", "list", "--team", "team-a").stdout
    shown = opsloop("service", "show", "checkout")
    assert "owner: unowned" in shown.stdout and "SLO checkout/availability" in shown.stdout
    team = opsloop("team", "show", "team-a")
    assert "lead: alice" in team.stdout and "owns: payments" in team.stdout
    line = assert_clean_failure(opsloop("service", "create", "x", "--owner", "ghosts"))
    assert "no team 'ghosts'" in line
    line = assert_clean_failure(opsloop("team", "delete", "team-a", "--yes"))
    assert "owns services payments" in line
    line = assert_clean_failure(opsloop("service", "delete", "checkout", "--yes"))
    assert "checkout/availability" in line
    assert opsloop("service", "delete", "payments", "--yes").returncode == 0
    assert opsloop("team", "member", "remove", "team-a", "alice").returncode == 0
    assert opsloop("team", "delete", "team-a", "--yes").returncode == 0
    with db.read() as session:
        assert teams.list_teams(session) == []
        assert [s.name for s in catalog.list_services(session)] == ["checkout"]


def test_export_round_trip(opsloop, db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name in ("alice", "bob"):
        make_user(db, name, Role.viewer)
    assert opsloop("service", "apply", "-f", str(FIXTURES / "catalog.yaml")).returncode == 0
    out = tmp_path / "out.yaml"
    assert opsloop("service", "export", "-o", str(out)).returncode == 0
    assert "kind: Team" in out.read_text()
    before = audit_count(db)
    again = opsloop("service", "apply", "-f", str(out))
    assert "0 created, 0 updated, 3 unchanged" in again.stderr
    assert audit_count(db) == before
    backstage = opsloop("service", "export", "--format", "backstage")
    assert "kind: Component" in backstage.stdout
    assert_clean_failure(opsloop("service", "export", "--format", "csv"))


def test_team_members_from_the_terminal(opsloop, db: Database) -> None:  # type: ignore[no-untyped-def]
    make_user(db, "alice", Role.viewer)
    assert opsloop("team", "create", "team-a").returncode == 0
    added = opsloop("team", "member", "add", "team-a", "alice", "--role", "lead")
    assert added.returncode == 0 and "alice is a lead of team-a" in added.stdout
    line = assert_clean_failure(opsloop("team", "member", "add", "team-a", "nobody"))
    assert "nobody" in line
    line = assert_clean_failure(
        opsloop("team", "member", "add", "team-a", "alice", "--role", "boss")
    )
    assert "lead or member" in line
    listed = opsloop("team", "list", "--json")
    assert '"alice": "lead"' in listed.stdout
