"""Pushed counts through to statuses, alerts and policy states, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.slo import evaluation
from tests.helpers import bearer

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def at_now(frozen_clock: clock.FrozenClock) -> clock.FrozenClock:
    frozen_clock.current = NOW
    return frozen_clock


def create_pushed(client: TestClient, token: str, **extra: Any) -> int:
    body = {"service": "checkout", "name": "availability", "objective": 99.9, **extra}
    response = client.post("/api/v1/slos", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def minutes(start: datetime, count: int, good: int, total: int) -> list[dict[str, Any]]:
    return [
        {"timestamp": (start + timedelta(minutes=i)).isoformat(), "good": good, "total": total}
        for i in range(count)
    ]


def push(client: TestClient, token: str, slo_id: int, events: list[dict[str, Any]]) -> Any:
    return client.post(
        f"/api/v1/slos/{slo_id}/events", json={"events": events}, headers=bearer(token)
    )


def fresh(client: TestClient, token: str, slo_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/slos/{slo_id}/status?fresh=true", headers=bearer(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


def counts(db: Database) -> int:
    with db.read() as session:
        return audit.count(session)


def test_window_burn_rates_from_pushed_minutes(
    client: TestClient, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver])
    writer = tokens[Role.responder]
    # 55 minutes at 0.1 % errors, then 5 minutes at 10 % errors, ending at NOW.
    assert (
        push(
            client, writer, slo_id, minutes(NOW - timedelta(minutes=60), 55, 999, 1000)
        ).status_code
        == 200
    )
    assert (
        push(client, writer, slo_id, minutes(NOW - timedelta(minutes=5), 5, 900, 1000)).status_code
        == 200
    )
    status = fresh(client, tokens[Role.viewer], slo_id)
    burns = status["burn_rates"]
    # 5m: 500 bad / 5000 = 0.1 -> 0.1 / 0.001 = 100x
    assert burns["5m"] == pytest.approx(100.0)
    # 1h: (55*1 + 5*100) bad / 60000 = 555/60000 = 0.00925 -> 9.25x
    assert burns["1h"] == pytest.approx(9.25)
    assert burns["1d"] == pytest.approx(9.25)  # no traffic before the hour
    assert status["good"] == 55 * 999 + 5 * 900 and status["total"] == 60_000
    assert status["sli"] == pytest.approx(1 - 0.00925)
    # consumed = period burn = 9.25 -> remaining 1 - 9.25 = -8.25; budget 0.1 % of 30 d = 43.2 min
    assert status["budget"]["remaining"] == pytest.approx(-8.25)
    assert status["budget"]["total_minutes"] == pytest.approx(43.2)
    assert status["budget"]["exhausted"] is True
    assert status["exhaustion"] == "exhausted"
    page_1h = next(a for a in status["alerts"] if a["alert"] == "page-1h")
    assert page_1h["factor"] == pytest.approx(14.4) and page_1h["firing"] is False
    page_6h = next(a for a in status["alerts"] if a["alert"] == "page-6h")
    # 6h long window 9.25 > 6 and 30m short window (25*1+5*100)/30000 = 17.5 > 6: the condition
    # holds, but for less than the rule's 2m "for", so the page is pending, as in Prometheus.
    assert page_6h["condition"] is True and page_6h["state"] == "pending"
    assert page_6h["for"] == "2m" and page_6h["active_since"] == NOW.isoformat()
    assert page_6h["firing"] is False and status["alert_severity"] is None
    assert status["policy"]["state"] == "freeze" and status["policy"]["blocks_changes"] is True


def test_zero_traffic_is_no_data_not_100(
    client: TestClient, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver])
    push(client, tokens[Role.responder], slo_id, minutes(NOW - timedelta(minutes=3), 3, 0, 0))
    status = fresh(client, tokens[Role.viewer], slo_id)
    assert status["status"] == "no_data" and status["sli"] is None
    assert status["budget"] is None and status["burn_rates"]["5m"] is None
    assert status["policy"]["state"] == "no_data"
    assert not any(a["firing"] for a in status["alerts"])


def test_resent_minutes_replace_and_late_data_is_counted_once(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver])
    writer = tokens[Role.responder]
    batch = minutes(NOW - timedelta(minutes=30), 10, 990, 1000)
    assert push(client, writer, slo_id, batch).status_code == 200
    assert push(client, writer, slo_id, batch).status_code == 200  # a retry
    later = minutes(NOW - timedelta(minutes=10), 5, 1000, 1000)
    assert push(client, writer, slo_id, later).status_code == 200
    # Late and out of order: a minute before everything, and a correction in the middle.
    assert (
        push(client, writer, slo_id, minutes(NOW - timedelta(minutes=50), 1, 0, 100)).status_code
        == 200
    )
    assert (
        push(
            client, writer, slo_id, minutes(NOW - timedelta(minutes=25), 1, 1000, 1000)
        ).status_code
        == 200
    )
    status = fresh(client, tokens[Role.viewer], slo_id)
    # totals: 10*1000 + 5*1000 + 100 = 15100; bad: 9 minutes*10 + 0 (corrected) + 100 = 190
    assert status["total"] == 15_100
    assert status["total"] - status["good"] == 190
    # 30m window [NOW-30m, NOW): 10 + 5 minutes -> bad 90 over 15000 -> 0.006 -> 6x
    assert status["burn_rates"]["30m"] == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"good": 11, "total": 10}, "events[1].good"),
        ({"good": -1, "total": 10}, "events[1].good"),
        ({"good": 1, "total": -10}, "events[1].total"),
        ({"timestamp": "2026-11-02T09:05:00Z"}, "events[1].timestamp"),
        ({"timestamp": "2026-09-01T00:00:00Z"}, "events[1].timestamp"),
        ({"timestamp": "2026-11-02T08:00:30Z"}, "events[1].timestamp"),
        ({"timestamp": "2026-11-02T08:05:30Z"}, "events[1].timestamp"),  # not a whole minute
        ({"timestamp": "2026-11-02T08:30:00"}, "events[1].timestamp"),
        ({"good": "lots"}, "events[1].good"),
    ],
)
def test_bad_batches_are_rejected_whole(
    client: TestClient,
    tokens: dict[Role, str],
    db: Database,
    at_now: clock.FrozenClock,
    event: dict[str, Any],
    field: str,
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver])
    good = {"timestamp": "2026-11-02T08:00:00Z", "good": 5, "total": 10}
    before = counts(db)
    response = push(
        client,
        tokens[Role.responder],
        slo_id,
        [good, {**good, "timestamp": "2026-11-02T08:01:00Z", **event}],
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert counts(db) == before
    assert fresh(client, tokens[Role.viewer], slo_id)["total"] == 0


def test_bulk_push_names_unknown_slo(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> None:
    create_pushed(client, tokens[Role.approver])
    item = {
        "slo": "checkout/availability",
        "timestamp": "2026-11-02T08:00:00Z",
        "good": 1,
        "total": 1,
    }
    before = counts(db)
    response = client.post(
        "/api/v1/events",
        json={"events": [item, {**item, "slo": "checkout/nope"}]},
        headers=bearer(tokens[Role.responder]),
    )
    assert response.status_code == 422 and response.json()["error"]["field"] == "events[1].slo"
    assert counts(db) == before
    ok = client.post(
        "/api/v1/events", json={"events": [item]}, headers=bearer(tokens[Role.responder])
    )
    assert ok.json() == {"accepted": 1}


def test_push_needs_responder_and_a_pushed_slo(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver], name="pushed")
    events = minutes(NOW - timedelta(minutes=1), 1, 1, 1)
    assert push(client, tokens[Role.viewer], slo_id, events).status_code == 403
    assert push(client, tokens[Role.responder], 9999, events).status_code == 404
    spec = (FIXTURES / "checkout_availability.yaml").read_text()
    applied = client.post(
        "/api/v1/slos/apply",
        content=spec,
        headers={**bearer(tokens[Role.approver]), "content-type": "application/yaml"},
    )
    assert applied.status_code == 201, applied.text
    [prometheus_slo] = [a["id"] for a in applied.json() if a["service"] == "checkout"]
    before = counts(db)
    refused = push(client, tokens[Role.responder], prometheus_slo, events)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "slo"
    assert "reads its SLI from Prometheus" in refused.json()["error"]["message"]
    assert counts(db) == before


def test_alerts_fire_and_resolve_with_history_and_audit(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver])
    writer = tokens[Role.responder]
    # One hour at 2 % errors = 20x: page-1h (14.4x) holds on both 1h and 5m windows.
    push(client, writer, slo_id, minutes(NOW - timedelta(minutes=60), 60, 980, 1000))
    evaluation.evaluate(db, now=clock.now())
    alerts_url = f"/api/v1/slos/{slo_id}/alerts"
    assert client.get(alerts_url, headers=bearer(tokens[Role.viewer])).json()["items"] == []
    stored = client.get(f"/api/v1/slos/{slo_id}", headers=bearer(tokens[Role.viewer])).json()
    states = {a["alert"]: a["state"] for a in stored["status"]["alerts"]}
    assert states["page-1h"] == states["page-6h"] == "pending"  # for: 2m not yet over
    at_now.advance(timedelta(minutes=1))
    evaluation.evaluate(db, now=clock.now())
    assert client.get(alerts_url, headers=bearer(tokens[Role.viewer])).json()["items"] == []
    at_now.advance(timedelta(minutes=1))  # the condition has now held for 2m
    evaluation.evaluate(db, now=clock.now())
    history = client.get(alerts_url, headers=bearer(tokens[Role.viewer])).json()["items"]
    firing = {h["alert"] for h in history if h["firing"]}
    assert {"page-1h", "page-6h"} <= firing
    evaluation.evaluate(db, now=clock.now())  # no change, no new events
    assert len(
        client.get(f"/api/v1/slos/{slo_id}/alerts", headers=bearer(tokens[Role.viewer])).json()[
            "items"
        ]
    ) == len(history)
    # Two healthy hours later the short windows are clean again: the pages resolve.
    at_now.advance(timedelta(hours=2))
    push(client, writer, slo_id, minutes(clock.now() - timedelta(minutes=120), 120, 1000, 1000))
    evaluation.evaluate(db, now=clock.now())
    viewer = bearer(tokens[Role.viewer])
    latest = client.get(f"/api/v1/slos/{slo_id}/alerts", headers=viewer).json()["items"]
    resolved = {h["alert"] for h in latest if not h["firing"]}
    assert "page-1h" in resolved
    with db.read() as session:
        actions = [
            r.action for r in audit.iterate(session, flt=audit.AuditFilter(entity_type="slo"))
        ]
    assert "slo.alert.firing" in actions and "slo.alert.resolved" in actions
    assert "slo.policy_state" in actions


def test_policy_state_is_recorded_and_exposed_per_service(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver])
    # 0.06 % errors: consumed 0.6 -> 40 % left -> optimize
    push(
        client,
        tokens[Role.responder],
        slo_id,
        minutes(NOW - timedelta(minutes=10), 10, 9994, 10000),
    )
    evaluation.evaluate(db, now=clock.now())
    state = client.get(
        "/api/v1/services/checkout/budget-state", headers=bearer(tokens[Role.viewer])
    ).json()
    assert state["state"] == "optimize" and state["blocks_changes"] is False
    assert state["approver"] == "team lead"
    # 0.095 % errors -> 5 % left -> freeze, which blocks changes
    at_now.advance(timedelta(minutes=1))
    push(
        client,
        tokens[Role.responder],
        slo_id,
        minutes(NOW - timedelta(minutes=10), 10, 99905, 100000),
    )
    evaluation.evaluate(db, now=clock.now())
    state = client.get(
        "/api/v1/services/checkout/budget-state", headers=bearer(tokens[Role.viewer])
    ).json()
    assert (
        state["state"] == "freeze"
        and state["blocks_changes"] is True
        and state["approver"] == "CTO"
    )
    with db.read() as session:
        changes = [
            audit.to_dict(r)["changes"]["policy_state"]
            for r in audit.iterate(session, flt=audit.AuditFilter(action="slo.policy_state"))
        ]
    assert [c["after"] for c in changes] == ["optimize", "freeze"]


def test_custom_policy_per_service(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver])
    tiers = [
        {"threshold": 1.0, "state": "monitor", "action": "carry on"},
        {"threshold": 0.75, "state": "freeze", "action": "stop", "approver": "VP"},
    ]
    admin = bearer(tokens[Role.admin])
    assert (
        client.put(
            "/api/v1/services/checkout/policy",
            json={"tiers": tiers},
            headers=bearer(tokens[Role.approver]),
        ).status_code
        == 403
    )
    assert (
        client.put(
            "/api/v1/services/checkout/policy", json={"tiers": tiers}, headers=admin
        ).status_code
        == 200
    )
    bad = client.put("/api/v1/services/checkout/policy", json={"tiers": tiers[::-1]}, headers=admin)
    assert bad.status_code == 422
    push(
        client,
        tokens[Role.responder],
        slo_id,
        minutes(NOW - timedelta(minutes=10), 10, 9997, 10000),
    )
    status = fresh(client, tokens[Role.viewer], slo_id)  # 70 % left: below 75 %
    assert status["policy"]["state"] == "freeze" and status["policy"]["approver"] == "VP"


def test_reset_starts_a_new_period_admin_only(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver])
    push(
        client, tokens[Role.responder], slo_id, minutes(NOW - timedelta(minutes=30), 30, 990, 1000)
    )
    assert fresh(client, tokens[Role.viewer], slo_id)["budget"]["remaining"] < 0
    url = f"/api/v1/slos/{slo_id}/reset"
    assert (
        client.post(url, json={"reason": "x"}, headers=bearer(tokens[Role.approver])).status_code
        == 403
    )
    assert (
        client.post(url, json={"reason": ""}, headers=bearer(tokens[Role.admin])).status_code == 422
    )
    response = client.post(
        url, json={"reason": "bad deploy excluded"}, headers=bearer(tokens[Role.admin])
    )
    assert response.status_code == 200
    at_now.advance(timedelta(minutes=5))
    push(
        client,
        tokens[Role.responder],
        slo_id,
        minutes(clock.now() - timedelta(minutes=5), 5, 1000, 1000),
    )
    status = fresh(client, tokens[Role.viewer], slo_id)
    assert status["budget"]["remaining"] == pytest.approx(1.0)
    assert status["burn_rates"]["1h"] > 0  # burn rates still see the last hour
    history = client.get(
        f"/api/v1/slos/{slo_id}/periods", headers=bearer(tokens[Role.viewer])
    ).json()["items"]
    assert [p["reason"] for p in history] == ["SLO created", "bad deploy excluded"]
    assert history[0]["ended_at"] is not None and history[1]["ended_at"] is None


def test_calendar_slo_starts_fresh_each_month_and_refuses_reset(
    client: TestClient, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    slo_id = create_pushed(client, tokens[Role.approver], window="month", time_zone="Europe/Berlin")
    push(client, tokens[Role.responder], slo_id, minutes(NOW - timedelta(minutes=10), 10, 0, 1000))
    status = fresh(client, tokens[Role.viewer], slo_id)
    # November 2026 in Berlin starts 2026-10-31T23:00Z; the month has 30 days
    assert status["period"]["start"] == "2026-10-31T23:00:00+00:00"
    assert status["budget"]["total_minutes"] == pytest.approx(43.2)
    response = client.post(
        f"/api/v1/slos/{slo_id}/reset", json={"reason": "x"}, headers=bearer(tokens[Role.admin])
    )
    assert response.status_code == 422
    at_now.advance(timedelta(days=29))  # into December: a fresh budget, no data yet
    assert fresh(client, tokens[Role.viewer], slo_id)["status"] == "no_data"


def test_metrics_export_slo_series(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    slo_id = create_pushed(client, tokens[Role.approver])
    push(
        client,
        tokens[Role.responder],
        slo_id,
        minutes(NOW - timedelta(minutes=10), 10, 9994, 10000),
    )
    evaluation.evaluate(db, now=clock.now())
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for s in family.samples
        if s.name.startswith("slo_")
    }
    ids = (("service", "checkout"), ("slo", "availability"))

    def value(name: str, **extra: str) -> float:
        return samples[(name, tuple(sorted(ids + tuple(extra.items()))))]

    # 6 bad per 10000 -> SLI 99.94 %, burn 0.6, budget left 0.4 -> optimize
    assert value("slo_availability_percentage") == pytest.approx(99.94)
    assert value("slo_error_budget_remaining") == pytest.approx(0.4)
    assert value("slo_error_budget_burn_rate", window="1h") == pytest.approx(0.6)
    assert value("slo_policy_state", state="optimize") == 1.0
    assert value("slo_burn_rate_alert_firing", alert="page-1h", severity="page") == 0.0
