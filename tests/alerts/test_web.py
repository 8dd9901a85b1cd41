"""The alert pages: firing alerts refreshing through htmx, an alert's page, acknowledgement
and feedback by responders (CSRF-checked), read-only for viewers. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsloop.alerts import service as alerts
from opsloop.app import create_app
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.alerts.payloads import alert
from tests.alerts.test_escalation import receive
from tests.web.pages import sign_in, user_per_role


@pytest.fixture
def web(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    user_per_role(db)
    settings = Settings(database_url=db.url, data_dir=tmp_path / "data", scheduler_enabled=False)
    with TestClient(create_app(settings, db)) as client:
        yield client


def seeded(db: Database) -> int:
    receive(
        db,
        alert(
            "c1",
            name="DiskFull",
            labels={"severity": "critical", "service": "db"},
            annotations={
                "summary": "disk almost full",
                "runbook_url": "https://runbooks.example/disk",
                "description": "<script>x</script>",
            },
        ),
    )
    with db.read() as session:
        (row,) = alerts.list_alerts(session, flt=alerts.AlertFilter(), limit=5)
    return row.id


def test_a_responder_acknowledges_and_gives_feedback(web: TestClient, db: Database) -> None:
    alert_id = seeded(db)
    csrf = sign_in(web, "responder")
    page = web.get("/alerts")
    assert page.status_code == 200
    assert 'hx-trigger="every 15s"' in page.text
    assert "DiskFull" in page.text and "disk almost full" in page.text
    assert 'href="/alerts"' in page.text  # in the navigation, no longer "soon"
    fragment = web.get("/alerts", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith("<table") and "DiskFull" in fragment.text
    detail = web.get(f"/alerts/{alert_id}")
    assert 'href="https://runbooks.example/disk"' in detail.text
    assert "<script>x</script>" not in detail.text  # annotations are escaped
    no_csrf = web.post(f"/alerts/{alert_id}/ack", data={}, follow_redirects=False)
    assert no_csrf.status_code == 403
    acked = web.post(f"/alerts/{alert_id}/ack", data={"csrf_token": csrf}, follow_redirects=False)
    assert acked.status_code == 303
    assert "Acknowledged by responder" in web.get(f"/alerts/{alert_id}").text
    missing = web.post(
        f"/alerts/{alert_id}/feedback", data={"csrf_token": csrf, "verdict": "actionable"}
    )
    assert missing.status_code == 422 and 'data-field="action"' in missing.text
    done = web.post(
        f"/alerts/{alert_id}/feedback",
        data={"csrf_token": csrf, "verdict": "actionable", "action": "cleaned old logs"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Actionable: cleaned old logs" in web.get(f"/alerts/{alert_id}").text
    with db.read() as session:
        stored = alerts.get_alert(session, alert_id=alert_id)
    assert stored.acked_by == "responder" and stored.feedback_by == "responder"


def test_a_viewer_reads_but_cannot_act(web: TestClient, db: Database) -> None:
    alert_id = seeded(db)
    csrf = sign_in(web, "viewer")
    page = web.get("/alerts")
    assert "DiskFull" in page.text and "Acknowledge</button>" not in page.text
    refused = web.post(f"/alerts/{alert_id}/ack", data={"csrf_token": csrf})
    assert refused.status_code == 403
    with db.read() as session:
        assert alerts.get_alert(session, alert_id=alert_id).acked_at is None


def test_the_list_filters_by_status_and_pages_older_alerts(web: TestClient, db: Database) -> None:
    firing = [
        alert(f"f{i:02d}", name=f"Firing{i:02d}", labels={"service": "api"}) for i in range(55)
    ]
    gone = {**alert("r1", name="GoneAway"), "status": "resolved", "endsAt": "2026-11-02T09:00:00Z"}
    receive(db, *firing, gone)
    sign_in(web, "viewer")
    first = web.get("/alerts")
    assert len(re.findall(r'href="/alerts/[0-9]+"', first.text)) == 50
    assert "Firing54" in first.text and "GoneAway" not in first.text
    link = first.text.split('href="/alerts?')[-1].split('"')[0].replace("&amp;", "&")
    assert "before=" in link
    second = web.get("/alerts?" + link)
    assert "Firing04" in second.text and "Firing54" not in second.text
    assert 'hx-trigger="every 15s"' not in second.text  # an older page stays put
    assert 'data-testid="older"' not in second.text
    resolved = web.get("/alerts", params={"status": "resolved"})
    assert "GoneAway" in resolved.text and "Firing00" not in resolved.text
    assert web.get("/alerts", params={"status": "sideways"}).status_code == 422
