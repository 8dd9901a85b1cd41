"""``opsloop incident``: what it prints, what it refuses (exit 2, one line, nothing changed)
and what it writes. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from opsloop.core.db import Database
from opsloop.incidents import lifecycle
from opsloop.incidents import service as incidents
from tests.cli_run import Invoked, assert_clean_failure, invoke
from tests.incidents.helpers import make_people, make_service
from tests.services.helpers import audit_count


@pytest.fixture
def opsloop(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database):  # type: ignore[no-untyped-def]
    def run(*args: str, **env: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args, **env)

    return run


def test_declare_run_and_resolve_an_incident(opsloop, db: Database) -> None:  # type: ignore[no-untyped-def]
    make_service(db, "checkout")
    make_people(db, "alice")
    declared = opsloop(
        "incident", "declare", "Checkout errors", "--severity", "sev1",
        "--service", "checkout", "--commander", "alice", "--detected-by", "alert",
        "--users-affected", "500", "--feature", "pay", "--started", "2026-01-02T03:04",
    )  # fmt: skip
    assert declared.returncode == 0, declared.stderr
    key = declared.stdout.split()[1]
    assert key.startswith("INC-") and key.endswith("-001")
    assert opsloop("incident", "ack", key).returncode == 0
    posted = opsloop(
        "incident", "post-update", key, "--template", "investigating",
        "--next-update-minutes", "30",
    )  # fmt: skip
    assert posted.returncode == 0 and f"[{key}] SEV1 Checkout errors" in posted.stdout
    assert "next update due" in posted.stderr
    assert opsloop("incident", "update", key, "--scribe", "alice").returncode == 0
    assert opsloop("incident", "status", key, "mitigating", "--note", "rollback").returncode == 0
    added = opsloop("incident", "timeline", key, "--add", "paged DBA", "--kind", "escalation")
    assert added.returncode == 0 and "paged DBA" in added.stdout
    resolved = opsloop(
        "incident", "resolve", key, "--root-cause", "pool exhausted", "--fix", "raised pool",
        "--service-restored",
    )  # fmt: skip
    assert resolved.returncode == 0, resolved.stderr
    with db.read() as session:
        found = incidents.get_incident(session, key=key)
        events = lifecycle.timeline_of(session, key=key)
    assert found.status.value == "resolved" and found.scribe == "alice"
    assert found.resolution.diagnosis.root_cause == "pool exhausted"
    assert found.resolution.verification.service_restored
    assert any(e.change and e.change["field"] == "scribe" for e in events)
    shown = opsloop("incident", "show", key)
    assert "root cause: pool exhausted" in shown.stdout and "commander: alice" in shown.stdout
    as_json = json.loads(opsloop("incident", "show", key, "--json").stdout)
    assert as_json["resolution_record"]["resolution"]["fix_applied"] == "raised pool"
    listed = opsloop("incident", "list", "--service", "checkout")
    assert key in listed.stdout and "resolved" in listed.stdout
    rows = json.loads(opsloop("incident", "list", "--status", "open", "--json").stdout)
    assert rows == []
    timeline = opsloop("incident", "timeline", key)
    assert "status: investigating → mitigating: rollback" in timeline.stdout


def test_bad_input_exits_2_with_one_line_and_changes_nothing(opsloop, db: Database) -> None:  # type: ignore[no-untyped-def]
    make_service(db, "checkout")
    key = opsloop("incident", "declare", "x", "--severity", "2").stdout.split()[1]
    before = audit_count(db)
    for args, expected in (
        (("declare", "x", "--severity", "SEV9"), "--severity"),
        (("declare", "x", "--severity", "1", "--service", "chekout"), "chekout"),
        (("declare", "x", "--severity", "1", "--commander", "nobody"), "commander"),
        (("declare", "x", "--severity", "1", "--started", "yesterday"), "--started"),
        (("status", key, "identified"), ""),
        (("status", key, "done"), "STATUS"),
        (("update", key, "--scribe", "ghost"), "scribe"),
        (("show", "INC-2026-999"), "no incident"),
        (("post-update", key, "--template", "party"), "template"),
        (("timeline", key, "--add", "x", "--kind", "gossip"), "--kind"),
    ):
        if args[:2] == ("status", key) and args[2] == "identified":
            assert opsloop("incident", "status", key, "monitoring").returncode == 0
            before = audit_count(db)
            expected = "cannot move an incident back"
        line = assert_clean_failure(opsloop("incident", *args))
        assert expected in line, (args, line)
    assert audit_count(db) == before
    with db.read() as session:
        assert len(incidents.list_incidents(session)) == 1


def test_templates_are_listed_set_and_reset(opsloop, db: Database) -> None:  # type: ignore[no-untyped-def]
    assert "investigating/internal:" in opsloop("incident", "template", "list").stdout
    saved = opsloop("incident", "template", "set", "resolved", "external", "--body", "{key} done")
    assert saved.returncode == 0, saved.stderr
    assert "resolved/external (customised):" in opsloop("incident", "template", "list").stdout
    key = opsloop("incident", "declare", "x", "--severity", "4").stdout.split()[1]
    posted = opsloop(
        "incident", "post-update", key, "--template", "resolved", "--audience", "external"
    )
    assert posted.stdout.strip() == f"{key} done"
    line = assert_clean_failure(
        opsloop("incident", "template", "set", "resolved", "external", "--body", "{oops}")
    )
    assert "unknown placeholder {oops}" in line
    assert opsloop("incident", "template", "set", "resolved", "external", "--reset").returncode == 0
    assert "(customised)" not in opsloop("incident", "template", "list").stdout
