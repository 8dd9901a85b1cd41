"""Alerts through the API: the list and its filters, an alert's page, acknowledgement,
responder feedback, MTTA, and burn-rate alerts linked to their SLO."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from opsloop.core import clock
from opsloop.core.audit.models import AuditRecord
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.alerts.payloads import alert, webhook
from tests.helpers import bearer
from tests.slo.test_push_evaluate import create_pushed

URL = "/api/v1/alerts/alertmanager"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def actions(db: Database) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(AuditRecord.action)
                .where(AuditRecord.entity_type == "alert")
                .order_by(AuditRecord.seq)
            )
        )


def seed(client: TestClient, token: str) -> dict[str, int]:
    body = webhook(
        alert("c1", name="DiskFull", labels={"severity": "critical", "service": "db"}),
        alert("h1", name="Latency", labels={"severity": "high", "service": "api"}),
        alert(
            "m1",
            name="Latency",
            labels={"severity": "medium", "service": "api"},
            annotations={"runbook_url": "https://runbooks.example/latency", "summary": "slow"},
        ),
    )
    assert client.post(URL, json=body, headers=bearer(token)).status_code == 200
    resolved = {
        **alert("c1", name="DiskFull"),
        "status": "resolved",
        "endsAt": "2026-11-02T09:01:00Z",
    }
    assert client.post(URL, json=webhook(resolved), headers=bearer(token)).status_code == 200
    items = client.get("/api/v1/alerts", headers=bearer(token)).json()["items"]
    return {item["fingerprint"]: item["id"] for item in items}


def test_list_filters_and_pages(client: TestClient, tokens: dict[Role, str]) -> None:
    viewer = bearer(tokens[Role.viewer])
    ids = seed(client, tokens[Role.responder])

    def fingerprints(query: str) -> list[str]:
        answer = client.get(f"/api/v1/alerts?{query}", headers=viewer)
        assert answer.status_code == 200, answer.text
        return [item["fingerprint"] for item in answer.json()["items"]]

    assert fingerprints("") == ["m1", "h1", "c1"]
    assert fingerprints("status=firing") == ["m1", "h1"]
    assert fingerprints("status=resolved") == ["c1"]
    assert fingerprints("service=api&severity=high") == ["h1"]
    assert fingerprints("name=DiskFull") == ["c1"]
    assert fingerprints("since=2026-11-03T00:00:00Z") == []
    assert fingerprints("until=2026-11-03T00:00:00Z") == ["m1", "h1", "c1"]
    first = client.get("/api/v1/alerts?limit=2", headers=viewer).json()
    assert [i["fingerprint"] for i in first["items"]] == ["m1", "h1"]
    rest = client.get(f"/api/v1/alerts?limit=2&cursor={first['next_cursor']}", headers=viewer)
    assert [i["fingerprint"] for i in rest.json()["items"]] == ["c1"]
    bad = client.get("/api/v1/alerts?status=burning", headers=viewer)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "status"
    bad = client.get("/api/v1/alerts?since=2026-11-03T00:00:00", headers=viewer)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "since"
    shown = client.get(f"/api/v1/alerts/{ids['m1']}", headers=viewer).json()
    assert shown["runbook_url"] == "https://runbooks.example/latency"
    assert shown["annotations"]["summary"] == "slow"
    assert client.get("/api/v1/alerts/99999", headers=viewer).status_code == 404


def test_ack_feedback_and_mtta(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.current = START
    responder = bearer(tokens[Role.responder])
    ids = seed(client, tokens[Role.responder])
    assert (
        client.post(
            f"/api/v1/alerts/{ids['h1']}/ack", headers=bearer(tokens[Role.viewer])
        ).status_code
        == 403
    )
    # h1 started at 08:55: acknowledged at 09:00 is 300 s, m1 at 09:10 is 900 s
    answer = client.post(f"/api/v1/alerts/{ids['h1']}/ack", headers=responder)
    assert answer.status_code == 200, answer.text
    assert answer.json()["acked_by"] == "responder"
    again = client.post(f"/api/v1/alerts/{ids['h1']}/ack", headers=responder)
    assert again.status_code == 409
    frozen_clock.current = START + timedelta(minutes=10)
    assert client.post(f"/api/v1/alerts/{ids['m1']}/ack", headers=responder).status_code == 200
    mtta = client.get("/api/v1/alerts/mtta", headers=responder).json()
    assert mtta == [
        {"name": "Latency", "severity": "high", "acknowledged": 1, "mean_seconds": 300.0},
        {"name": "Latency", "severity": "medium", "acknowledged": 1, "mean_seconds": 900.0},
    ]
    url = f"/api/v1/alerts/{ids['c1']}/feedback"
    missing = client.post(url, json={"verdict": "actionable"}, headers=responder)
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "action"
    bad = client.post(url, json={"verdict": "maybe"}, headers=responder)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "verdict"
    done = client.post(
        url, json={"verdict": "actionable", "action": "grew the volume"}, headers=responder
    )
    assert done.status_code == 200, done.text
    assert done.json()["feedback"] == "actionable"
    assert done.json()["feedback_action"] == "grew the volume"
    noise = client.post(
        f"/api/v1/alerts/{ids['m1']}/feedback",
        json={"verdict": "false_positive"},
        headers=responder,
    )
    assert noise.json()["feedback"] == "false_positive"
    assert actions(db) == [
        "alert.acknowledge",
        "alert.acknowledge",
        "alert.feedback",
        "alert.feedback",
    ]


def test_burn_rate_alerts_link_to_their_slo(client: TestClient, tokens: dict[Role, str]) -> None:
    slo_id = create_pushed(client, tokens[Role.approver])
    labels = {"slo_service": "checkout", "slo_name": "availability", "severity": "critical"}
    other = {"slo_service": "checkout", "slo_name": "nope"}
    body = webhook(
        alert("b1", name="SLOBurnRate", labels=labels),
        alert("b2", name="SLOBurnRate", labels=other),
    )
    assert client.post(URL, json=body, headers=bearer(tokens[Role.responder])).status_code == 200
    items = client.get("/api/v1/alerts", headers=bearer(tokens[Role.viewer])).json()["items"]
    assert {i["fingerprint"]: i["slo_id"] for i in items} == {"b1": slo_id, "b2": None}
    assert {i["fingerprint"]: i["service"] for i in items} == {"b1": "checkout", "b2": None}
