"""The action item API: add to a review, read, page and filter across reviews, edit with notes,
escalate by hand; roles, 404s and 422s naming the field, with nothing written. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.actions.helpers import incident, make_team
from tests.helpers import bearer
from tests.services.helpers import actions as audited
from tests.services.helpers import audit_count

BODY = {"description": "Alert on pool saturation", "owner_user": "alice", "priority": "P2",
        "due_on": "2026-11-20"}  # fmt: skip


@pytest.fixture
def key(db: Database, frozen_clock: clock.FrozenClock) -> str:
    make_team(db, "payments", {"lena": "lead", "alice": "member"})
    return incident(db).key


def _as(tokens: dict[Role, str], role: Role = Role.responder) -> dict[str, str]:
    return bearer(tokens[role])


def _add(client: TestClient, tokens: dict[Role, str], key: str, **body: Any) -> dict[str, Any]:
    answer = client.post(
        f"/api/v1/pirs/{key}/action-items", json={**BODY, **body}, headers=_as(tokens)
    )
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _refused(answer: Any, status: int, field: str | None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["field"] == field, answer.text


def test_add_read_update_and_note(
    client: TestClient, db: Database, tokens: dict[Role, str], key: str
) -> None:
    made = _add(client, tokens, key, note="from the review meeting")
    assert made["incident"] == key and made["owner"] == "alice" and made["status"] == "open"
    assert made["notes"][0]["text"] == "from the review meeting"
    assert made["escalation_level"] == 0 and made["escalations"] == []
    item = made["id"]
    read = client.get(f"/api/v1/action-items/{item}", headers=_as(tokens, Role.viewer))
    assert read.status_code == 200 and read.json() == made
    of_incident = client.get(f"/api/v1/pirs/{key}/action-items", headers=_as(tokens, Role.viewer))
    assert [i["id"] for i in of_incident.json()] == [item]
    patched = client.patch(
        f"/api/v1/action-items/{item}",
        json={"status": "won't do", "note": "covered by the new pool", "owner_team": "payments"},
        headers=_as(tokens),
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["status"] == "wont_do" and body["owner"] == "team:payments"
    assert body["completed_at"] is not None
    assert body["notes"][-1]["status_change"] == "open -> wont_do"
    noted = client.post(
        f"/api/v1/action-items/{item}/notes", json={"text": "agreed"}, headers=_as(tokens)
    )
    assert noted.status_code == 201 and noted.json()["notes"][-1]["author"] == "responder"
    assert audited(db, "action_item") == [
        "action_item.create", "action_item.update", "action_item.note",
    ]  # fmt: skip


def test_bad_input_is_refused_naming_the_field_and_writes_nothing(
    client: TestClient, db: Database, tokens: dict[Role, str], key: str
) -> None:
    before = audit_count(db)
    url = f"/api/v1/pirs/{key}/action-items"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"owner_user": None}, "owner"),
        ({"owner_team": "payments"}, "owner"),
        ({"owner_user": "ghost"}, "owner_user"),
        ({"owner_user": None, "owner_team": "ghosts"}, "owner_team"),
        ({"priority": "P9"}, "priority"),
        ({"due_on": "2026-10-01"}, "due_on"),
        ({"due_on": "next week"}, "due_on"),
        ({"description": ""}, "description"),
    ]
    for change, field in cases:
        _refused(client.post(url, json={**BODY, **change}, headers=_as(tokens)), 422, field)
    _refused(client.post(url, json={**BODY, "extra": 1}, headers=_as(tokens)), 422, "extra")
    missing = client.post("/api/v1/pirs/INC-2026-999/action-items", json=BODY, headers=_as(tokens))
    _refused(missing, 404, "key")
    assert audit_count(db) == before
    item = _add(client, tokens, key)["id"]
    before = audit_count(db)
    patch = f"/api/v1/action-items/{item}"
    _refused(client.patch(patch, json={"status": "wont_do"}, headers=_as(tokens)), 422, "note")
    _refused(client.patch(patch, json={"status": "closed"}, headers=_as(tokens)), 422, "status")
    _refused(client.patch(patch, json={"priority": None}, headers=_as(tokens)), 422, "priority")
    _refused(client.patch(patch, json={}, headers=_as(tokens)), 422, "changes")
    _refused(client.patch("/api/v1/action-items/999", json={"note": "x"}, headers=_as(tokens)),
             404, "id")  # fmt: skip
    _refused(client.get("/api/v1/action-items?status=closed", headers=_as(tokens)), 422, "status")
    _refused(client.get("/api/v1/action-items?team=ghosts", headers=_as(tokens)), 422, "team")
    _refused(client.get("/api/v1/action-items?priority=P0", headers=_as(tokens)), 422, "priority")
    unknown = client.get("/api/v1/action-items?incident=INC-1999-001", headers=_as(tokens))
    _refused(unknown, 422, "incident")
    assert client.patch("/api/v1/action-items/escalate", headers=_as(tokens)).status_code == 405
    bad_days = client.get("/api/v1/action-items?due_within_days=-1", headers=_as(tokens))
    _refused(bad_days, 422, "due_within_days")
    assert audit_count(db) == before


def test_roles(client: TestClient, tokens: dict[Role, str], key: str) -> None:
    viewer = _as(tokens, Role.viewer)
    item = _add(client, tokens, key)["id"]
    url = f"/api/v1/pirs/{key}/action-items"
    assert client.post(url, json=BODY, headers=viewer).status_code == 403
    patch = client.patch(f"/api/v1/action-items/{item}", json={"note": "x"}, headers=viewer)
    assert patch.status_code == 403
    note = client.post(f"/api/v1/action-items/{item}/notes", json={"text": "x"}, headers=viewer)
    assert note.status_code == 403
    assert client.post("/api/v1/action-items/escalate", headers=viewer).status_code == 403
    assert client.get("/api/v1/action-items").status_code == 401
    assert client.get("/api/v1/action-items", headers=viewer).status_code == 200


def test_lists_page_and_filter(
    client: TestClient, tokens: dict[Role, str], key: str, frozen_clock: clock.FrozenClock
) -> None:
    ids = [_add(client, tokens, key, due_on=f"2026-11-{day:02d}")["id"] for day in (2, 5, 30)]
    team_item = _add(client, tokens, key, owner_user=None, owner_team="payments", priority="P1")
    frozen_clock.advance(timedelta(days=1))  # 2026-11-03
    viewer = _as(tokens, Role.viewer)

    def listed(query: str) -> list[int]:
        answer = client.get(f"/api/v1/action-items?{query}", headers=viewer)
        assert answer.status_code == 200, answer.text
        return [i["id"] for i in answer.json()["items"]]

    first = client.get("/api/v1/action-items?limit=2", headers=viewer).json()
    assert [i["id"] for i in first["items"]] == [team_item["id"], ids[2]]
    rest = client.get(f"/api/v1/action-items?limit=2&cursor={first['next_cursor']}", headers=viewer)
    assert [i["id"] for i in rest.json()["items"]] == [ids[1], ids[0]]
    assert "next_cursor" not in rest.json() or rest.json()["next_cursor"] is None
    assert listed("overdue=true") == [ids[0]]
    assert listed("due_within_days=2") == [ids[1]]  # 11-03 + 2 days = 11-05
    assert listed("owner=team:payments") == [team_item["id"]]
    assert listed("owner=alice&priority=P2") == [ids[2], ids[1], ids[0]]
    assert listed("team=payments") == [team_item["id"], *reversed(ids)]
    assert listed(f"incident={key}&status=open") == [team_item["id"], *reversed(ids)]
    assert listed("status=done") == []
    overdue_item = client.get(f"/api/v1/action-items/{ids[0]}", headers=viewer).json()
    assert overdue_item["overdue"] is True and overdue_item["days_overdue"] == 0


def test_escalate_by_hand(
    client: TestClient, db: Database, tokens: dict[Role, str], key: str,
    frozen_clock: clock.FrozenClock,
) -> None:  # fmt: skip
    item = _add(client, tokens, key, due_on="2026-11-02")["id"]
    # Overdue from 11-03; 3 days later, 11-06, level 1.
    frozen_clock.advance(timedelta(days=4))
    dry = client.post("/api/v1/action-items/escalate?dry_run=true", headers=_as(tokens))
    assert dry.status_code == 200 and dry.json()["dry_run"] is True
    assert [e["item"] for e in dry.json()["escalated"]] == [item]
    done = client.post("/api/v1/action-items/escalate", headers=_as(tokens)).json()
    assert done["escalated"][0]["notified_to"] == ["lena"]
    assert done["escalated"][0]["level"] == 1 and done["escalated"][0]["days_overdue"] == 3
    again = client.post("/api/v1/action-items/escalate", headers=_as(tokens)).json()
    assert again["escalated"] == []
    shown = client.get(f"/api/v1/action-items/{item}", headers=_as(tokens, Role.viewer)).json()
    assert shown["escalation_level"] == 1
    assert shown["escalations"][0]["summary"] == "level 1 to lena"
    assert audited(db, "action_item").count("action_item.escalate") == 1
