"""The alert review through the API, the CLI and the page, on SQLite and PostgreSQL: counts,
feedback and incident links, flapping, the Markdown in the weekly review's form, and bad
periods refused without a traceback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsloop.alerts import service as alerts
from opsloop.alerts.models import Feedback
from opsloop.app import create_app
from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.alerts.payloads import alert
from tests.alerts.test_escalation import ids_by_fingerprint, receive
from tests.cli_run import Invoked, assert_clean_failure, invoke
from tests.web.pages import sign_in, user_per_role

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
Run = Callable[..., Invoked]


def resolved(fp: str, name: str, starts: str, ends: str, **labels: str) -> dict[str, object]:
    firing = alert(fp, name=name, starts=starts, labels=labels)
    return {**firing, "status": "resolved", "endsAt": ends}


def seed(db: Database) -> None:
    """DiskFull on db: four short firings of one label set within 40 minutes (flapping).
    Latency on api: two instances, one actionable, one linked to an incident. Noise on api:
    a false positive. One alert from before the period that must not count."""
    flaps = [
        resolved("d1", "DiskFull", f"2026-11-29T10:{m:02d}:00Z", f"2026-11-29T10:{m + 5:02d}:00Z",
                 service="db", severity="critical")
        for m in (0, 10, 20, 30)
    ]  # fmt: skip
    receive(
        db,
        *flaps,
        resolved("l1", "Latency", "2026-11-30T08:00:00Z", "2026-11-30T08:30:00Z",
                 service="api", severity="high"),
        alert("l2", name="Latency", starts="2026-11-30T09:00:00Z",
              labels={"service": "api", "severity": "high"}),
        alert("n1", name="Noise", starts="2026-11-30T12:00:00Z",
              labels={"service": "api", "severity": "low"}),
        alert("old", name="Old", starts="2026-11-20T12:00:00Z", labels={"service": "api"}),
    )  # fmt: skip
    ids = ids_by_fingerprint(db)
    with db.write() as session:
        alerts.give_feedback(
            session, principal=SYSTEM, alert_id=ids["l1"], verdict=Feedback.actionable,
            action="scaled out",
        )  # fmt: skip
        alerts.give_feedback(
            session, principal=SYSTEM, alert_id=ids["n1"], verdict=Feedback.false_positive,
            action="",
        )  # fmt: skip
        alerts.link_incident(session, alert_ids=[ids["l2"]], incident_id=1)


@pytest.fixture
def now() -> Iterator[None]:
    clock.set_clock(lambda: NOW)
    yield
    clock.set_clock(None)


def by_key(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {row["key"]: row for row in rows}


def test_api_review_counts_feedback_flapping_and_markdown(
    client: TestClient, db: Database, tokens: dict[Role, str], now: None
) -> None:
    seed(db)
    headers = {"Authorization": f"Bearer {tokens[Role.viewer]}"}
    body = client.get("/api/v1/alerts/review", params={"since": "7d"}, headers=headers).json()
    assert body["totals"] == {
        "total": 7,
        "actionable": 2,
        "false_positives": 1,
        "unreviewed": 4,
        "signal_to_noise": 0.4,
    }
    names = by_key(body["by_name"])
    assert list(names) == ["DiskFull", "Latency", "Noise"]  # most fired first; Old is outside
    disk = names["DiskFull"]
    assert (disk["fired"], disk["distinct"], disk["flapping"]) == (4, 1, 1)
    assert disk["mean_duration_seconds"] == 300 and disk["advice"] == "investigate-flapping"
    latency = names["Latency"]
    assert (latency["actionable"], latency["still_firing"], latency["advice"]) == (2, 1, "keep")
    assert latency["signal_to_noise"] is None
    assert names["Noise"]["advice"] == "tune-or-remove"
    services = by_key(body["by_service"])
    assert services["api"]["fired"] == 3 and services["db"]["fired"] == 4
    assert [d["fired"] for d in body["days"]][-3:] == [0, 4, 3]

    only_db = client.get("/api/v1/alerts/review", params={"service": "db"}, headers=headers).json()
    assert only_db["totals"]["total"] == 4

    md = client.get("/api/v1/alerts/review", params={"format": "md"}, headers=headers)
    assert md.headers["content-type"].startswith("text/markdown")
    assert "- Total: 7\n- Actionable: 2\n- False positives: 1" in md.text
    assert "**investigate-flapping**" in md.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "0001-01-01T00:00:00Z"}, "since"),
        ({"since": "1d", "until": "2d"}, "since"),
        ({"format": "pdf"}, "format"),
    ],
)
def test_api_refuses_bad_periods(
    client: TestClient, tokens: dict[Role, str], params: dict[str, str], field: str, now: None
) -> None:
    headers = {"Authorization": f"Bearer {tokens[Role.viewer]}"}
    answer = client.get("/api/v1/alerts/review", params=params, headers=headers)
    assert answer.status_code == 422, answer.text
    assert field in answer.text


@pytest.fixture
def opsloop(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database
) -> Run:
    def run(*args: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args)

    return run


def test_cli_review_markdown_json_and_bad_input(opsloop: Run, db: Database, now: None) -> None:
    seed(db)
    md = opsloop("alerts", "review", "--since", "7d")
    assert md.returncode == 0, md.stderr
    assert "- Total: 7" in md.stdout and "| DiskFull | 4 | 1 |" in md.stdout
    as_json = opsloop("alerts", "review", "--since", "2026-11-29T00:00:00Z", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert '"total": 7' in as_json.stdout
    line = assert_clean_failure(opsloop("alerts", "review", "--since", "soon"))
    assert "since" in line
    assert opsloop("alerts", "review", "--format", "xml").returncode == 2


@pytest.fixture
def web(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    user_per_role(db)
    settings = Settings(database_url=db.url, data_dir=tmp_path / "data", scheduler_enabled=False)
    with TestClient(create_app(settings, db)) as client:
        yield client


def test_review_page_table_and_chart(web: TestClient, db: Database, now: None) -> None:
    seed(db)
    sign_in(web, "viewer")
    page = web.get("/alerts/review", params={"since": "7d"})
    assert page.status_code == 200
    assert 'data-testid="by-name"' in page.text and "investigate-flapping" in page.text
    assert "<svg" in page.text and "Nov 29: 4 fired, 0 actionable" in page.text
    assert "<li>Total: 7</li>" in page.text
    bad = web.get("/alerts/review", params={"since": "whenever"})
    assert bad.status_code == 422 and "since:" in bad.text


def test_metrics_show_firing_and_overdue_alerts(
    client: TestClient, db: Database, now: None
) -> None:
    seed(db)
    text = client.get("/metrics").text
    # Latency l2 (high, 15 min) and Noise n1 (low, next business day) still fire; "Old" too.
    assert 'opsloop_alerts_firing{service="api",severity="high"} 1.0' in text
    assert 'opsloop_alerts_unacknowledged_overdue{service="api",severity="high"} 1.0' in text
    assert 'opsloop_alerts_firing{service="db"' not in text  # every DiskFull resolved
