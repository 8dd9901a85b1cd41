"""The review API: create (201, 409 twice, 404 unknown), read, edit, move (409 backward),
timeline, meeting, revisions, renderings, the list with its filters and paging, roles, and
refusals that name the field and change nothing. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.incidents.rules import Severity
from tests.helpers import bearer
from tests.pirs.helpers import WHYS, resolved_incident
from tests.services.helpers import audit_count

API = "/api/v1/incidents"


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def test_the_life_of_a_review(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    viewer, responder = bearer(tokens[Role.viewer]), bearer(tokens[Role.responder])
    key = resolved_incident(db, frozen_clock, minutes=75)
    pir = f"{API}/{key}/pir"
    assert client.post(pir, headers=viewer).status_code == 403
    created = client.post(pir, headers=responder)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "draft" and body["required"] is True
    assert body["incident"]["duration_minutes"] == 75
    assert body["content"]["impact"]["users_affected"] == 1200
    assert _error(client.post(pir, headers=responder), 409)["field"] == "key"
    patched = client.patch(
        pir,
        json={"root_cause": "pool too small", "whys": WHYS, "impact": {"revenue": "5k"}},
        headers=responder,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["content"]["impact"] == {
        "users_affected": 1200,
        "revenue": "5k",
        "description": "",
    }
    entry = client.post(f"{pir}/timeline", json={"text": "status page updated"}, headers=responder)
    assert entry.status_code == 201, entry.text
    meeting = client.put(
        f"{pir}/review-meeting",
        json={"scheduled_at": "2026-11-04T10:00:00Z", "attendees": ["viewer"], "notes": "ok"},
        headers=responder,
    )
    assert meeting.status_code == 200, meeting.text
    assert client.post(f"{pir}/state", json={"state": "in_review"}, headers=responder).is_success
    published = client.post(f"{pir}/state", json={"state": "published"}, headers=responder)
    assert published.status_code == 200 and published.json()["published_at"]
    assert (
        _error(client.post(f"{pir}/state", json={"state": "in_review"}, headers=responder), 409)[
            "field"
        ]
        == "state"
    )
    revised = client.patch(pir, json={"went_well": "rollback"}, headers=responder).json()
    assert (revised["state"], revised["revision"]) == ("draft", 2)
    kept = client.get(f"{pir}/revisions", headers=viewer).json()
    assert [r["revision"] for r in kept] == [1] and kept[0]["content"]["went_well"] == ""
    assert client.get(f"{pir}/revisions/1", headers=viewer).json()["revision"] == 1
    assert _error(client.get(f"{pir}/revisions/2", headers=viewer), 404)["field"] == "revision"
    md = client.get(f"{pir}/report", headers=viewer)
    assert md.headers["content-type"].startswith("text/markdown") and "## Root cause" in md.text
    pdf = client.get(f"{pir}/report?format=pdf", headers=viewer)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    old = client.get(f"{pir}/report?format=html&revision=1", headers=viewer)
    assert old.status_code == 200 and "revision 1" in old.text and "rollback" not in old.text
    shown = client.get(pir, headers=viewer).json()
    assert shown["content"]["went_well"] == "rollback"


def test_refusals_name_the_field_and_change_nothing(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    responder = bearer(tokens[Role.responder])
    key = resolved_incident(db, frozen_clock)
    pir = f"{API}/{key}/pir"
    assert _error(client.get(pir, headers=responder), 404)["field"] == "key"
    assert _error(client.post(f"{API}/INC-2026-999/pir", headers=responder), 404)["field"] == "key"
    assert client.post(pir, headers=responder).status_code == 201
    before = audit_count(db)
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("patch", pir, {"whys": [{"question": "Why?", "answer": ""}]}, 422, "whys[0].answer"),
        ("patch", pir, {"whys": [{"position": 2, "question": "Why?", "answer": "a"}]}, 422,
         "whys[0].position"),
        ("patch", pir, {"whys": [{"question": "Why?"}]}, 422, "whys[0].answer"),
        ("patch", pir, {"culprit": "bob"}, 422, "culprit"),
        ("patch", pir, {}, 422, "body"),
        ("patch", pir, {"impact": {"users_affected": -3}}, 422, "impact.users_affected"),
        ("post", f"{pir}/state", {"state": "published"}, 409, "state"),
        ("post", f"{pir}/state", {"state": "finished"}, 422, "state"),
        ("post", f"{pir}/timeline", {"text": ""}, 422, "text"),
        ("put", f"{pir}/review-meeting", {"scheduled_at": "2026-11-04T10:00:00Z",
         "attendees": ["ghost"]}, 422, "review_meeting.attendees[0]"),
        ("put", f"{pir}/review-meeting", {"scheduled_at": "2026-11-04T10:00:00Z",
         "validated_action_items": ["x"]}, 422, "validated_action_items[0]"),
    ]  # fmt: skip
    for method, path, body, status, field in cases:
        error = _error(client.request(method, path, json=body, headers=responder), status)
        assert error["field"] == field, (path, body, error)
    assert _error(client.get(f"{pir}/report?format=doc", headers=responder), 422)
    assert audit_count(db) == before


def test_sev3_is_optional_and_the_list_filters_and_pages(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    responder = bearer(tokens[Role.responder])
    optional = resolved_incident(db, frozen_clock, severity=Severity.SEV3, title="Slow search")
    late = resolved_incident(db, frozen_clock, title="Checkout down")
    for key in (optional, late):
        assert client.post(f"{API}/{key}/pir", headers=responder).status_code == 201
    frozen_clock.advance(timedelta(hours=49))
    first = client.get("/api/v1/pirs?limit=1", headers=responder).json()
    assert [p["key"] for p in first["items"]] == [late] and first["next_cursor"]
    rest = client.get(f"/api/v1/pirs?limit=1&cursor={first['next_cursor']}", headers=responder)
    assert [p["key"] for p in rest.json()["items"]] == [optional]
    assert rest.json()["items"][0]["required"] is False
    overdue = client.get("/api/v1/pirs?overdue=true", headers=responder).json()["items"]
    assert [p["key"] for p in overdue] == [late]
    drafts = client.get("/api/v1/pirs?state=draft", headers=responder).json()["items"]
    assert len(drafts) == 2
    assert _error(client.get("/api/v1/pirs?state=gone", headers=responder), 422)["field"] == "state"
