"""A review and its incident's action items together: the rendering lists them, and the review
meeting agrees only on the incident's own items. SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.helpers import bearer
from tests.pirs.helpers import resolved_incident


def test_the_review_shows_the_items_and_the_meeting_agrees_on_its_own(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    responder = bearer(tokens[Role.responder])
    key = resolved_incident(db, frozen_clock, minutes=30)
    other = resolved_incident(db, frozen_clock, minutes=10)
    assert client.post(f"/api/v1/incidents/{key}/pir", headers=responder).status_code == 201

    def add(incident: str, text: str) -> int:
        made = client.post(
            f"/api/v1/pirs/{incident}/action-items",
            json={"description": text, "owner_user": "responder", "priority": "P1",
                  "due_on": "2026-12-20"},
            headers=responder,
        )  # fmt: skip
        assert made.status_code == 201, made.text
        return int(made.json()["id"])

    mine = add(key, "Raise the pool size limit alarm")
    theirs = add(other, "Unrelated follow-up")
    report = client.get(f"/api/v1/incidents/{key}/pir/report", params={"format": "md"},
                        headers=responder)  # fmt: skip
    assert report.status_code == 200
    assert "Raise the pool size limit alarm" in report.text
    assert "Unrelated follow-up" not in report.text
    meeting = f"/api/v1/incidents/{key}/pir/review-meeting"
    body = {"scheduled_at": "2026-11-04T10:00:00Z", "validated_action_items": [mine, theirs]}
    refused = client.put(meeting, json=body, headers=responder)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "review_meeting.validated_action_items[1]"
    body["validated_action_items"] = [mine]
    assert client.put(meeting, json=body, headers=responder).status_code == 200
