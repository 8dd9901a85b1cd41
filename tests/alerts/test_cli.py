"""``opsloop alerts``: list, show, ack and feedback; bad input exits 2 with one line and
changes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from opsloop.alerts import service as alerts
from opsloop.core.db import Database
from tests.alerts.payloads import alert
from tests.alerts.test_escalation import receive
from tests.cli_run import Invoked, assert_clean_failure, invoke

Run = Callable[..., Invoked]


@pytest.fixture
def opsloop(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database
) -> Run:
    def run(*args: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args)

    return run


def test_list_show_ack_feedback(opsloop: Run, db: Database) -> None:
    receive(
        db,
        alert(
            "c1",
            name="DiskFull",
            labels={"severity": "critical", "service": "db"},
            annotations={"runbook_url": "https://runbooks.example/disk"},
        ),
    )
    listed = opsloop("alerts", "list", "--status", "firing")
    assert listed.returncode == 0, listed.stderr
    assert "DiskFull" in listed.stdout and "critical" in listed.stdout
    with db.read() as session:
        (row,) = alerts.list_alerts(session, flt=alerts.AlertFilter(), limit=10)
    shown = opsloop("alerts", "show", str(row.id))
    assert "runbook: https://runbooks.example/disk" in shown.stdout
    acked = opsloop("alerts", "ack", str(row.id))
    assert acked.returncode == 0, acked.stderr
    assert "acknowledged by cli:" in acked.stderr
    assert_clean_failure(opsloop("alerts", "ack", str(row.id)))
    done = opsloop("alerts", "feedback", str(row.id), "--actionable", "grew the volume")
    assert done.returncode == 0, done.stderr
    with db.read() as session:
        stored = alerts.get_alert(session, alert_id=row.id)
        assert stored.acked_by.startswith("cli:")
        assert stored.feedback_action == "grew the volume"
    as_json = opsloop("alerts", "show", str(row.id), "--json")
    assert '"feedback": "actionable"' in as_json.stdout


def test_bad_input_is_one_line_and_changes_nothing(opsloop: Run, db: Database) -> None:
    receive(db, alert("c1"))
    assert "no alert 999" in assert_clean_failure(opsloop("alerts", "ack", "999"))
    line = assert_clean_failure(opsloop("alerts", "feedback", "1"))
    assert "--actionable" in line
    line = assert_clean_failure(opsloop("alerts", "feedback", "1", "--actionable", " "))
    assert "action" in line
    line = assert_clean_failure(opsloop("alerts", "list", "--since", "yesterday"))
    assert "--since" in line
    with db.read() as session:
        stored = alerts.get_alert(session, alert_id=1)
    assert stored.feedback is None and stored.acked_at is None
