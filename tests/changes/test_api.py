"""The change API: create and submit, list with filters and pages, the workflow routes, the
history, freezes, and refusals that name the field and change nothing. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.changes.helpers import future, make_service, row_counts
from tests.helpers import bearer, make_token, make_user

BODY = {
    "title": "Raise the connection pool",
    "service": "checkout",
    "category": "configuration",
    "rollback_plan": "set it back to 20",
    "impact_analysis": "a restart of each pod, one at a time",
}


@pytest.fixture
def people(
    client: TestClient, db: Database, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> dict[str, dict[str, str]]:
    make_service(db, "checkout")
    make_user(db, "carol", Role.approver)
    return {
        "responder": bearer(tokens[Role.responder]),
        "approver": bearer(tokens[Role.approver]),
        "carol": bearer(make_token(db, "carol", Role.approver)),
        "viewer": bearer(tokens[Role.viewer]),
        "admin": bearer(tokens[Role.admin]),
    }


def post(client: TestClient, path: str, who: dict[str, str], body: Any = None) -> Any:
    return client.post(f"/api/v1{path}", json=body if body is not None else {}, headers=who)


def test_raise_decide_schedule_run_and_read_back(
    client: TestClient, people: dict[str, dict[str, str]]
) -> None:
    created = post(client, "/changes", people["responder"], {**BODY, "submit": True})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key == "CR-2026-001" and created.json()["state"] == "submitted"
    assert created.json()["requester"] == "responder"
    approved = post(client, f"/changes/{key}/approve", people["approver"], {"comment": "ok"})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    window = {"window_start": future(3).isoformat(), "duration_minutes": 60}
    scheduled = post(client, f"/changes/{key}/schedule", people["responder"], window)
    assert scheduled.status_code == 200 and scheduled.json()["action_warnings"] == []
    assert post(client, f"/changes/{key}/start", people["responder"]).json()["state"] == (
        "in_progress"
    )
    rolled = post(client, f"/changes/{key}/rollback", people["responder"], {"reason": "latency up"})
    assert rolled.status_code == 200 and rolled.json()["outcome_reason"] == "latency up"
    shown = client.get(f"/api/v1/changes/{key}", headers=people["viewer"]).json()
    assert shown["state"] == "rolled_back" and shown["approvals"][0]["approver"] == "approver"
    history = client.get(f"/api/v1/changes/{key}/history", headers=people["viewer"]).json()
    assert [h["after"] for h in history if h["field"] == "state"] == [
        "draft", "submitted", "approved", "scheduled", "in_progress", "rolled_back",
    ]  # fmt: skip


def test_list_filters_and_pages(client: TestClient, people: dict[str, dict[str, str]]) -> None:
    for model in ("normal", "standard", "emergency", "normal"):
        body = {**BODY, "model": model, "risk": "high" if model == "emergency" else "low"}
        assert post(client, "/changes", people["responder"], body).status_code == 201
    viewer = people["viewer"]
    first = client.get("/api/v1/changes?limit=3", headers=viewer).json()
    assert [c["key"][-3:] for c in first["items"]] == ["004", "003", "002"]
    rest = client.get(f"/api/v1/changes?limit=3&cursor={first['next_cursor']}", headers=viewer)
    assert [c["key"][-3:] for c in rest.json()["items"]] == ["001"]
    assert len(client.get("/api/v1/changes?model=normal", headers=viewer).json()["items"]) == 2
    assert len(client.get("/api/v1/changes?risk=high", headers=viewer).json()["items"]) == 1
    assert len(client.get("/api/v1/changes?state=draft", headers=viewer).json()["items"]) == 4
    assert client.get("/api/v1/changes?service=search", headers=viewer).json()["items"] == []
    later = future(1).isoformat().replace("+00:00", "Z")
    assert client.get(f"/api/v1/changes?since={later}", headers=viewer).json()["items"] == []
    bad = client.get("/api/v1/changes?state=done", headers=viewer)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "state"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service": "chekout"}, "service"),
        ({"rollback_plan": ""}, "rollback_plan"),
        ({"category": "weather"}, "category"),
        ({"implementer": "nobody"}, "implementer"),
        ({"model": "urgent"}, "model"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    client: TestClient,
    db: Database,
    people: dict[str, dict[str, str]],
    change: dict[str, str],
    field: str,
) -> None:
    before = row_counts(db)
    refused = post(client, "/changes", people["responder"], {**BODY, **change, "submit": True})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == field
    assert row_counts(db) == before


def test_the_cab_rules_answer_403_and_409(
    client: TestClient, db: Database, people: dict[str, dict[str, str]]
) -> None:
    draft = post(client, "/changes", people["responder"], BODY).json()["key"]
    own = post(client, "/changes", people["approver"], {**BODY, "submit": True}).json()["key"]
    before = row_counts(db)
    assert post(client, f"/changes/{draft}/approve", people["approver"]).status_code == 409
    selfish = post(client, f"/changes/{own}/approve", people["approver"])
    assert selfish.status_code == 403 and "cannot decide" in selfish.json()["error"]["message"]
    assert post(client, f"/changes/{own}/approve", people["responder"]).status_code == 403
    assert post(client, "/changes", people["viewer"], BODY).status_code == 403
    assert post(client, f"/changes/{own}/reject", people["carol"], {}).status_code == 422
    assert post(client, f"/changes/{draft}/start", people["responder"]).status_code == 409
    assert row_counts(db) == before
    assert post(client, f"/changes/{own}/approve", people["carol"]).status_code == 200
    past = {"window_start": (clock.now() - timedelta(hours=1)).isoformat(), "duration_minutes": 30}
    refused = post(client, f"/changes/{own}/schedule", people["responder"], past)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "window_start"
    assert client.get("/api/v1/changes/CR-2026-999", headers=people["viewer"]).status_code == 404
    edited = client.patch(
        f"/api/v1/changes/{own}", json={"risk": "low"}, headers=people["responder"]
    )
    assert edited.status_code == 409 and edited.json()["error"]["field"] == "risk"


def test_freezes_crud_and_a_freeze_refusing_a_window(
    client: TestClient, people: dict[str, dict[str, str]]
) -> None:
    freeze = {
        "name": "Year end",
        "starts_at": future(24).isoformat(),
        "ends_at": future(48).isoformat(),
        "reason": "finance closing",
    }
    assert post(client, "/freezes", people["responder"], freeze).status_code == 403
    created = post(client, "/freezes", people["approver"], freeze)
    assert created.status_code == 201, created.text
    backwards = {**freeze, "ends_at": future(1).isoformat()}
    refused = post(client, "/freezes", people["approver"], backwards)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "ends_at"
    unknown = post(client, "/freezes", people["approver"], {**freeze, "service": "nope"})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "service"
    listed = client.get("/api/v1/freezes", headers=people["viewer"]).json()
    assert [f["name"] for f in listed] == ["Year end"]
    key = post(client, "/changes", people["responder"], {**BODY, "submit": True}).json()["key"]
    post(client, f"/changes/{key}/approve", people["approver"])
    window = {"window_start": future(30).isoformat(), "duration_minutes": 60}
    blocked = post(client, f"/changes/{key}/schedule", people["responder"], window)
    assert blocked.status_code == 409 and "Year end" in blocked.json()["error"]["message"]
    freeze_id = created.json()["id"]
    gone = client.delete(f"/api/v1/freezes/{freeze_id}", headers=people["approver"])
    assert gone.status_code == 204
    assert (
        client.delete(f"/api/v1/freezes/{freeze_id}", headers=people["approver"]).status_code == 404
    )
    assert post(client, f"/changes/{key}/schedule", people["responder"], window).status_code == 200
