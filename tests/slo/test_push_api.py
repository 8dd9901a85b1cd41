"""The push API's own rules: percent objectives, whole minutes, real period lengths, an SLO
evaluated as soon as it exists, and a spent budget that stays exhausted without traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.slo import evaluation
from tests.helpers import bearer
from tests.slo.test_push_evaluate import create_pushed, fresh, minutes, push

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("objective", "hint"), [(0.999, "99.9"), (0.9, "90"), (0.5, "50")])
def test_objective_under_one_is_refused_with_the_percentage_hint(
    client: TestClient, tokens: dict[Role, str], objective: float, hint: str
) -> None:
    body = {"service": "checkout", "name": "availability", "objective": objective}
    response = client.post("/api/v1/slos", json=body, headers=bearer(tokens[Role.approver]))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "objective"
    assert error["message"] == f"objective: objectives are percentages: did you mean {hint}?"
    listed = client.get("/api/v1/slos", headers=bearer(tokens[Role.viewer])).json()
    assert listed["items"] == []


def test_timestamp_inside_a_minute_is_refused_not_folded(
    client: TestClient, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.current = NOW
    slo_id = create_pushed(client, tokens[Role.approver])
    events = [{"timestamp": "2026-11-02T08:00:30Z", "good": 5, "total": 10}]
    response = push(client, tokens[Role.responder], slo_id, events)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "events[0].timestamp"
    assert "whole minute" in error["message"]
    assert fresh(client, tokens[Role.viewer], slo_id)["total"] == 0


def test_the_first_hours_of_a_31_day_month_are_accepted(
    client: TestClient, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    # December has 31 days; at Dec 31 20:00 the nominal 30d reaches back only to Dec 1 20:00,
    # but the whole month since Dec 1 00:00 counts against the budget.
    frozen_clock.current = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    slo_id = create_pushed(client, tokens[Role.approver], objective=99.0, window="month")
    first_hour = minutes(datetime(2026, 12, 1, 0, 0, tzinfo=UTC), 60, 90, 100)
    assert push(client, tokens[Role.responder], slo_id, first_hour).status_code == 200
    status = fresh(client, tokens[Role.viewer], slo_id)
    # 60 minutes of 100 requests with 10 failures: 600 / 6000 = 10 % errors against a 1 % budget.
    assert (status["good"], status["total"]) == (5400, 6000)
    assert status["period"]["start"] == "2026-12-01T00:00:00+00:00"
    assert status["period"]["length"] == "31d"
    before = minutes(datetime(2026, 11, 30, 23, 59, tzinfo=UTC), 1, 1, 1)
    late = push(client, tokens[Role.responder], slo_id, before)
    assert late.status_code == 422 and late.json()["error"]["field"] == "events[0].timestamp"


def test_a_new_slo_has_a_status_at_once(
    client: TestClient, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.current = NOW
    slo_id = create_pushed(client, tokens[Role.approver], window="week", time_zone="Europe/Berlin")
    got = client.get(f"/api/v1/slos/{slo_id}", headers=bearer(tokens[Role.viewer])).json()
    assert got["status"] is not None
    assert got["status"]["evaluated_at"] == NOW.isoformat()
    assert got["status"]["status"] == "no_data"
    # Monday 2 Nov 2026 00:00 in Berlin (CET, +01) is 1 Nov 23:00 UTC.
    assert got["period_started_at"] == "2026-11-01T23:00:00Z"


def test_a_spent_budget_stays_exhausted_without_recent_traffic(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.current = NOW
    slo_id = create_pushed(client, tokens[Role.approver], window="7d")
    # Two days ago: 60 minutes of 1000 requests, 2 failures each: 120 / 60000 = 0.2 % errors
    # against a 0.1 % budget -> consumed 2, remaining -1. Nothing since.
    start = NOW - timedelta(days=2)
    assert push(client, tokens[Role.responder], slo_id, minutes(start, 60, 998, 1000)).status_code
    evaluation.evaluate(db, now=clock.now())
    status = fresh(client, tokens[Role.viewer], slo_id)
    assert status["budget"]["remaining"] == pytest.approx(-1.0)
    assert status["burn_rates"]["1h"] is None  # no traffic in the last hour
    assert status["exhaustion"] == "exhausted"
    assert status["time_to_exhaustion_seconds"] == 0.0
