"""The Alertmanager receiver: instances by fingerprint and start, idempotent notices, whole
payloads or nothing, size and token checks."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opsloop.alerts import alert_writes
from opsloop.alerts.models import Alert, AlertReceipt
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.services import service as catalog
from tests.alerts.payloads import alert, at, table, webhook
from tests.helpers import bearer

URL = "/api/v1/alerts/alertmanager"


def post(client: TestClient, token: str, body: object) -> tuple[int, dict[str, object]]:
    response = client.post(URL, json=body, headers=bearer(token))
    return response.status_code, response.json()


def count(db: Database, model: type[Alert] | type[AlertReceipt] = Alert) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_firing_then_resolved_is_one_instance_with_start_and_end(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    token = tokens[Role.responder]
    firing = alert("a1b2", labels={"severity": "critical", "service": "checkout"})
    assert post(client, token, webhook(firing)) == (200, {"alerts": 1})
    resolved = {**firing, "status": "resolved", "endsAt": "2026-11-02T08:58:00Z"}
    assert post(client, token, webhook(resolved)) == (200, {"alerts": 1})
    rows = client.get("/api/v1/alerts", headers=bearer(tokens[Role.viewer])).json()["items"]
    assert len(rows) == 1
    (row,) = rows
    assert row["fingerprint"] == "a1b2"
    assert row["status"] == "resolved"
    assert at(row["starts_at"]) == at("2026-11-02T08:55:00Z")
    assert at(row["ends_at"]) == at("2026-11-02T08:58:00Z")
    # critical: respond within 5 minutes of the start
    assert at(row["respond_by"]) == at("2026-11-02T09:00:00Z")
    assert row["received_by"] == "responder"
    assert count(db, AlertReceipt) == 2


def test_the_same_payload_twice_stores_nothing_new(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    token = tokens[Role.responder]
    body = webhook(alert("f1"), alert("f2", starts="2026-11-02T08:56:00Z"))
    assert post(client, token, body)[0] == 200
    before = table(db)
    assert len(before) == 2
    assert post(client, token, body)[0] == 200
    assert table(db) == before
    # A late retry of the firing notice does not reopen a resolved instance.
    resolved = webhook({**alert("f1"), "status": "resolved", "endsAt": "2026-11-02T09:00:00Z"})
    assert post(client, token, resolved)[0] == 200
    after_resolve = table(db)
    assert post(client, token, body)[0] == 200
    assert post(client, token, resolved)[0] == 200
    assert table(db) == after_resolve


def test_firing_again_later_is_a_new_instance(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    token = tokens[Role.responder]
    post(client, token, webhook(alert("f1")))
    post(client, token, webhook(alert("f1", starts="2026-11-02T10:00:00Z")))
    assert count(db) == 2


def test_a_bad_third_alert_rejects_the_whole_payload_naming_it(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    bad = alert("f3")
    del bad["labels"]["alertname"]
    body = webhook(alert("f1"), alert("f2"), bad)
    status, answer = post(client, tokens[Role.responder], body)
    assert status == 422
    error = answer["error"]
    assert isinstance(error, dict)
    assert "alerts" in str(error["field"]) and "2" in str(error["field"])
    assert "alertname" in str(error["message"])
    assert count(db) == 0
    assert count(db, AlertReceipt) == 0


def test_malformed_fields_are_named(client: TestClient, tokens: dict[Role, str]) -> None:
    body = webhook(alert("f1", starts="yesterday"))
    status, answer = post(client, tokens[Role.responder], body)
    assert status == 422
    assert "startsAt" in json.dumps(answer)
    status, answer = post(client, tokens[Role.responder], {**webhook(alert("f1")), "alerts": []})
    assert status == 422


def test_over_the_size_limit_is_413_and_stores_nothing(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    huge = alert("f1", annotations={"description": "x" * 60_000})
    body = webhook(*[{**huge, "fingerprint": f"f{i}"} for i in range(80)])  # about 4.8 MB
    response = client.post(URL, json=body, headers=bearer(tokens[Role.responder]))
    assert response.status_code == 413
    assert count(db) == 0
    # Above the general 1 MiB limit, within the push limit this path shares: accepted.
    body = webhook(*[{**huge, "fingerprint": f"f{i}"} for i in range(40)])  # about 2.4 MB
    assert post(client, tokens[Role.responder], body) == (200, {"alerts": 40})


def test_tokens_are_checked(client: TestClient, tokens: dict[Role, str], db: Database) -> None:
    body = webhook(alert("f1"))
    assert client.post(URL, json=body).status_code == 401
    assert client.post(URL, json=body, headers=bearer("nope")).status_code == 401
    assert post(client, tokens[Role.viewer], body)[0] == 403
    assert count(db) == 0
    assert post(client, tokens[Role.admin], body)[0] == 200


def test_service_from_label_with_fallback_lands_in_the_catalog(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    body = webhook(
        alert("s1", labels={"service": "payments", "job": "ignored"}),
        alert("s2", labels={"job": "node-exporter"}),
        alert("s3", labels={"service": "Not A Slug!"}),
        alert("s4"),
    )
    assert post(client, tokens[Role.responder], body)[0] == 200
    with db.read() as session:
        rows = session.execute(select(Alert.fingerprint, Alert.service))
        services = {fingerprint: service for fingerprint, service in rows}
        known = catalog.routing_facts(session, ["payments", "node-exporter"])
    assert services == {"s1": "payments", "s2": "node-exporter", "s3": None, "s4": None}
    assert set(known) == {"payments", "node-exporter"}
    with db.read() as session:
        view = catalog.get_service(session, name="payments")
    assert view.origin == "implicit"


def test_a_nul_in_a_label_is_refused_on_both_databases(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    body = webhook(alert("f1"), alert("f2"), alert("f3", labels={"instance": "a\x00b"}))
    status, answer = post(client, tokens[Role.responder], body)
    assert status == 422
    error = answer["error"]
    assert isinstance(error, dict) and error["field"] == "alerts.2.labels"
    assert count(db) == 0


def test_the_sqlite_upsert_names_every_column_once() -> None:
    wanted = {c.name for c in Alert.__table__.columns} - {"id"}
    assert sorted(alert_writes.COLUMNS) == sorted(wanted)
    assert alert_writes.SQLITE_UPSERT.count("?") == len(alert_writes.COLUMNS)
    listed = alert_writes.SQLITE_UPSERT.split("(", 1)[1].split(")", 1)[0]
    assert [c.strip() for c in listed.split(",")] == list(alert_writes.COLUMNS)
