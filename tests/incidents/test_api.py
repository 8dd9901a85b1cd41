"""The incident API: roles, refusals naming the field (422, 404, 409) that change nothing,
paging and filters, status moves, acknowledgement, the timeline, status updates, the resolution
record and templates. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.services import service as catalog
from tests.helpers import bearer
from tests.incidents.helpers import make_service
from tests.services.helpers import audit_count, make_slo

API = "/api/v1/incidents"


def _as(tokens: dict[Role, str], role: Role) -> dict[str, str]:
    return bearer(tokens[role])


def _declare(client: TestClient, tokens: dict[Role, str], **body: Any) -> dict[str, Any]:
    body.setdefault("title", "Checkout errors")
    body.setdefault("severity", "SEV2")
    response = client.post(API, json=body, headers=_as(tokens, Role.responder))
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def test_declare_show_patch_and_roles(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    make_service(db, "checkout")
    make_slo(db, "checkout")
    viewer, responder = _as(tokens, Role.viewer), _as(tokens, Role.responder)
    before = audit_count(db)
    assert (
        client.post(API, json={"title": "x", "severity": "SEV1"}, headers=viewer).status_code == 403
    )
    assert audit_count(db) == before
    found = _declare(
        client,
        tokens,
        severity="sev1",
        services=["checkout"],
        slos=["checkout/availability"],
        commander="responder",
        detection_method="alert",
        started_at="2026-11-02T08:50:00Z",
    )
    assert found["key"] == "INC-2026-001" and found["severity"] == "SEV1"
    assert found["severity_definition"] == "complete outage, all users affected"
    assert found["response"] == {
        "target_minutes": 15,
        "due_at": "2026-11-02T09:15:00Z",
        "state": "pending",
    }
    assert found["resolution_record"]["time_to_detect_minutes"] == 10.0
    shown = client.get(f"{API}/INC-2026-001", headers=viewer)
    assert shown.status_code == 200 and shown.json()["slos"] == ["checkout/availability"]
    assert (
        client.patch(f"{API}/INC-2026-001", json={"title": "y"}, headers=viewer).status_code == 403
    )
    patched = client.patch(
        f"{API}/INC-2026-001",
        json={"severity": "SEV2", "scribe": "viewer", "users_affected": 300},
        headers=responder,
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["severity"], patched.json()["scribe"]) == ("SEV2", "viewer")
    events = client.get(f"{API}/INC-2026-001/timeline", headers=viewer).json()
    changed = {e["change"]["field"]: e["change"] for e in events if e["change"]}
    assert changed["severity"] == {"field": "severity", "before": "SEV1", "after": "SEV2"}
    assert changed["scribe"]["after"] == "viewer"


def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    responder = _as(tokens, Role.responder)
    make_service(db, "checkout")
    key = _declare(client, tokens)["key"]
    before = audit_count(db)
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("post", API, {"title": "x", "severity": "SEV5"}, 422, "severity"),
        ("post", API, {"title": "x", "severity": "SEV1", "services": ["chekout"]}, 422, "services"),
        ("post", API, {"title": "x", "severity": "SEV1", "commander": "nobody"}, 422, "commander"),
        ("post", API, {"title": "x", "severity": "SEV1", "colour": "red"}, 422, "colour"),
        ("post", API, {"title": "", "severity": "SEV1"}, 422, "title"),
        ("patch", f"{API}/{key}", {"severity": "SEV0"}, 422, "severity"),
        ("patch", f"{API}/{key}", {"title": None}, 422, "title"),
        ("patch", f"{API}/{key}", {"services": None}, 422, "services"),
        ("patch", f"{API}/{key}", {"started_at": None}, 422, "started_at"),
        ("patch", f"{API}/{key}", {"started_at": "2026-11-02T10:00:00Z"}, 422, "started_at"),
        ("post", f"{API}/{key}/status", {"status": "done"}, 422, "status"),
        ("post", f"{API}/{key}/timeline", {"kind": "gossip", "text": "x"}, 422, "kind"),
        ("post", f"{API}/{key}/updates", {"template": "nope"}, 422, "template"),
        ("put", f"{API}/{key}/resolution", {"verification": {"x": True}}, 422, "verification.x"),
        ("post", f"{API}/INC-2026-999/status", {"status": "resolved"}, 404, "key"),
    ]
    for method, path, body, status, field in cases:
        error = _error(client.request(method, path, json=body, headers=responder), status)
        assert error["field"] == field, (path, body, error)
    assert audit_count(db) == before
    with db.read() as session:
        assert catalog.find_service(session, name="chekout") is None
    assert _declare(client, tokens)["key"] == "INC-2026-002"  # no number was taken


def test_status_moves_acknowledge_updates_and_resolution(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    responder = _as(tokens, Role.responder)
    key = _declare(client, tokens, started_at="2026-11-02T08:00:00Z")["key"]
    url = f"{API}/{key}"
    frozen_clock.advance(timedelta(minutes=70))
    assert client.get(url, headers=responder).json()["response"]["state"] == "overdue"
    acked = client.post(f"{url}/acknowledge", headers=responder)
    assert acked.status_code == 200 and acked.json()["response"]["state"] == "late"
    assert _error(client.post(f"{url}/acknowledge", headers=responder), 409)
    posted = client.post(
        f"{url}/updates",
        json={
            "template": "investigating",
            "audience": "external",
            "next_update_at": "2026-11-02T10:40:00Z",
        },
        headers=responder,
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["text"].startswith("We are investigating an issue affecting our services.")
    frozen_clock.advance(timedelta(minutes=40))
    rows = client.get(API, headers=responder).json()["items"]
    assert rows[0]["update_overdue"] is True
    moved = client.post(f"{url}/status", json={"status": "monitoring"}, headers=responder)
    assert moved.status_code == 200 and moved.json()["mitigated_at"] == "2026-11-02T10:50:00Z"
    back = client.post(f"{url}/status", json={"status": "identified"}, headers=responder)
    assert _error(back, 409)["field"] == "status"
    resolved = client.post(f"{url}/status", json={"status": "resolved"}, headers=responder)
    assert resolved.json()["resolved_at"] == "2026-11-02T10:50:00Z"
    assert resolved.json()["resolution_record"]["time_to_resolve_minutes"] == 170.0
    assert resolved.json()["update_overdue"] is False
    early = client.patch(url, json={"resolved_at": "2026-11-02T07:00:00Z"}, headers=responder)
    assert _error(early, 422)["field"] == "resolved_at"
    record = {
        "diagnosis": {"root_cause": "bad config", "contributing_factors": ["no canary"]},
        "follow_up": {"postmortem_scheduled": True},
    }
    put = client.put(f"{url}/resolution", json=record, headers=responder)
    assert put.status_code == 200, put.text
    assert put.json()["resolution_record"]["diagnosis"]["root_cause"] == "bad config"
    reopened = client.post(f"{url}/status", json={"status": "investigating"}, headers=responder)
    assert reopened.status_code == 200 and reopened.json()["resolved_at"] is None
    note = client.post(
        f"{url}/timeline", json={"kind": "note", "text": "customer call at 11"}, headers=responder
    )
    assert note.status_code == 201 and note.json()["automatic"] is False
    kinds = [e["kind"] for e in client.get(f"{url}/timeline", headers=responder).json()]
    assert {"detection", "response", "communication", "mitigation", "resolution", "note"} <= set(
        kinds
    )


def test_list_filters_and_pages(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    viewer = _as(tokens, Role.viewer)
    make_service(db, "checkout")
    for number in range(5):
        _declare(client, tokens, title=f"i{number}", services=["checkout"] if number % 2 else [])
        frozen_clock.advance(timedelta(hours=1))
    first = client.get(API, params={"limit": 2}, headers=viewer).json()
    assert [r["title"] for r in first["items"]] == ["i4", "i3"]
    second = client.get(API, params={"limit": 2, "cursor": first["next_cursor"]}, headers=viewer)
    assert [r["title"] for r in second.json()["items"]] == ["i2", "i1"]
    by_service = client.get(API, params={"service": "checkout"}, headers=viewer).json()["items"]
    assert [r["title"] for r in by_service] == ["i3", "i1"]
    since = client.get(API, params={"since": "2026-11-02T11:00:00Z"}, headers=viewer).json()
    assert [r["title"] for r in since["items"]] == ["i4", "i3", "i2"]
    assert client.get(API, params={"status": "open"}, headers=viewer).json()["items"]
    assert _error(client.get(API, params={"severity": "SEV7"}, headers=viewer), 422)["field"] == (
        "severity"
    )
    assert _error(client.get(API, params={"team": "nope"}, headers=viewer), 422)["field"] == "team"
    assert _error(client.get(API, params={"status": "gone"}, headers=viewer), 422)["field"] == (
        "status"
    )


def test_templates_read_by_viewers_written_by_approvers(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    url = "/api/v1/incident-templates"
    shown = client.get(url, headers=_as(tokens, Role.viewer)).json()
    assert len(shown["templates"]) == 8 and "key" in shown["placeholders"]
    body = {"templates": [{"name": "identified", "audience": "internal", "body": "{key}: found"}]}
    assert client.put(url, json=body, headers=_as(tokens, Role.responder)).status_code == 403
    put = client.put(url, json=body, headers=_as(tokens, Role.approver))
    assert put.status_code == 200
    assert any(t["customised"] and t["body"] == "{key}: found" for t in put.json()["templates"])
    bad = {"templates": [{"name": "identified", "audience": "internal", "body": "{nope}"}]}
    error = _error(client.put(url, json=bad, headers=_as(tokens, Role.approver)), 422)
    assert error["field"] == "templates[0].body"


def test_viewers_are_refused_every_write(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    key = _declare(client, tokens)["key"]
    viewer = _as(tokens, Role.viewer)
    before = audit_count(db)
    for method, path, body in (
        ("patch", f"{API}/{key}", {"title": "y"}),
        ("post", f"{API}/{key}/status", {"status": "resolved"}),
        ("post", f"{API}/{key}/acknowledge", None),
        ("post", f"{API}/{key}/timeline", {"kind": "note", "text": "x"}),
        ("post", f"{API}/{key}/updates", {"text": "x"}),
        ("put", f"{API}/{key}/resolution", {}),
        (
            "put",
            "/api/v1/incident-templates",
            {"templates": [{"name": "resolved", "audience": "internal", "body": "x"}]},
        ),
    ):
        response = client.request(method, path, json=body, headers=viewer)
        assert response.status_code == 403, (path, response.text)
    assert audit_count(db) == before
    assert client.get(f"{API}/{key}/timeline", headers=viewer).status_code == 200
