"""``opsloop pir``: the whole life of a review from a terminal, refusals (exit 2, one line,
nothing written) and the compliance gate (exit 1 when out of compliance). SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from opsloop.core import clock
from opsloop.core.db import Database
from opsloop.incidents.rules import Severity
from tests.cli_run import Invoked, assert_clean_failure, invoke
from tests.incidents.helpers import make_people
from tests.pirs.helpers import resolved_incident
from tests.services.helpers import audit_count


@pytest.fixture
def opsloop(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database):  # type: ignore[no-untyped-def]
    def run(*args: str, **env: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args, **env)

    return run


def test_write_review_publish_and_report(  # type: ignore[no-untyped-def]
    opsloop, db: Database, frozen_clock: clock.FrozenClock, tmp_path: Path
) -> None:
    make_people(db, "alice", "bob")
    key = resolved_incident(db, frozen_clock)
    created = opsloop("pir", "create", key)
    assert created.returncode == 0 and "draft, revision 1" in created.stdout, created.stderr
    updated = opsloop(
        "pir", "update", key, "--root-cause", "pool too small",
        "--why", "Why did checkout fail? | the pool ran dry",
        "--why", " | traffic doubled", "--factor", "no saturation alert",
        "--went-well", "fast rollback", "--users-affected", "900",
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    added = opsloop("pir", "add-timeline", key, "DBA paged", "--at", "2026-11-02T09:10")
    assert added.returncode == 0, added.stderr
    item = opsloop(
        "pir", "add-action-item", key, "Alert on pool saturation", "--owner", "alice",
        "--due", "2026-11-20", "--priority", "P1",
    )  # fmt: skip
    assert item.returncode == 0 and item.stdout.startswith("added #"), item.stderr
    item_id = item.stdout.split("#")[1].split()[0]
    stranger = opsloop(
        "pir", "schedule-review", key, "--at", "2026-11-05T10:00", "--item", str(int(item_id) + 1)
    )
    assert stranger.returncode == 2 and "validated_action_items" in stranger.stderr
    meeting = opsloop(
        "pir", "schedule-review", key, "--at", "2026-11-05T10:00",
        "--attendee", "alice", "--attendee", "bob", "--item", item_id,
    )  # fmt: skip
    assert meeting.returncode == 0 and "alice, bob" in meeting.stdout, meeting.stderr
    assert opsloop("pir", "submit", key).returncode == 0
    published = opsloop("pir", "publish", key)
    assert published.returncode == 0 and "published" in published.stdout
    shown = opsloop("pir", "show", key)
    assert "## Five whys" in shown.stdout and "Why the pool ran dry?" in shown.stdout
    assert "DBA paged" in shown.stdout and "900" in shown.stdout
    assert "Alert on pool saturation" in shown.stdout
    as_json = json.loads(opsloop("pir", "show", key, "--json").stdout)
    assert as_json["state"] == "published" and as_json["review_meeting"]["attendees"] == [
        "alice",
        "bob",
    ]
    out = tmp_path / "pir.html"
    written = opsloop("pir", "report", key, "--format", "html", "-o", str(out))
    assert written.returncode == 0 and "<h2>Root cause</h2>" in out.read_text()
    md = opsloop("pir", "report", key)
    assert md.stdout.startswith(f"# Post-incident review: {key}")
    listed = opsloop("pir", "list", "--state", "published")
    assert key in listed.stdout


def test_bad_input_exits_2_with_one_line_and_writes_nothing(  # type: ignore[no-untyped-def]
    opsloop, db: Database, frozen_clock: clock.FrozenClock
) -> None:
    key = resolved_incident(db, frozen_clock)
    assert opsloop("pir", "create", key).returncode == 0
    before = audit_count(db)
    for args in [
        ("pir", "create", "INC-2026-999"),
        ("pir", "create", key),
        ("pir", "publish", key),
        ("pir", "update", key, "--why", "no separator"),
        ("pir", "update", key, "--why", "Why? | "),
        ("pir", "update", key),
        ("pir", "schedule-review", key, "--at", "soon"),
        ("pir", "schedule-review", key, "--at", "2026-11-05T10:00", "--attendee", "ghost"),
        ("pir", "report", key, "--format", "doc"),
        ("pir", "report", key, "--format", "pdf"),
        ("pir", "list", "--state", "finished"),
        ("pir", "compliance", "--since", "forever"),
    ]:
        line = assert_clean_failure(opsloop(*args))
        assert len(line) < 200, line
    assert audit_count(db) == before


def test_compliance_gates_a_pipeline(  # type: ignore[no-untyped-def]
    opsloop, db: Database, frozen_clock: clock.FrozenClock
) -> None:
    assert opsloop("pir", "compliance").returncode == 0
    key = resolved_incident(db, frozen_clock, severity=Severity.SEV2)
    frozen_clock.advance(timedelta(hours=49))
    failed = opsloop("pir", "compliance", "--since", "7d")
    assert failed.returncode == 1
    assert f"{key} SEV2 review not started" in failed.stdout
    assert "out of compliance" in failed.stdout
    found = json.loads(opsloop("pir", "compliance", "--json").stdout)
    assert [r["key"] for r in found["overdue_reviews"]] == [key]
    assert found["compliant"] is False
