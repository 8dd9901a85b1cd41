"""An SLI source outage keeps the last known alert and policy states, marked stale: it never
resolves a firing alert and never lifts a feature freeze."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.slo import budget_policies, evaluation
from opsloop.slo import service as slo_service
from opsloop.slo.models import AlertEvent
from opsloop.slo.prometheus import PrometheusClient

FIXTURES = Path(__file__).parent / "fixtures"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
M = timedelta(minutes=1)


class FlakyPrometheus:
    """Answers every query with a 2 % error ratio while up, and 503 while down."""

    def __init__(self) -> None:
        self.up = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            return httpx.Response(503, text="down")
        at = float(request.url.params["time"])
        result = [{"metric": {}, "value": [at, "0.02"]}]
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        return httpx.Response(200, content=json.dumps(body))


def evaluate(db: Database, client: PrometheusClient, at: datetime) -> dict[str, Any]:
    [status] = evaluation.evaluate(db, now=at, prometheus=client).values()
    return status.to_json()


def alert_events(db: Database) -> list[tuple[str, bool]]:
    with db.read() as session:
        rows = session.scalars(select(AlertEvent).order_by(AlertEvent.id))
        return [(row.alert, row.firing) for row in rows]


def test_an_outage_keeps_firing_alerts_and_the_freeze(db: Database) -> None:
    with db.write() as session:
        slo_service.apply_specs(
            session, principal=SYSTEM, text=(FIXTURES / "checkout_availability.yaml").read_text()
        )
    prometheus = FlakyPrometheus()
    transport = httpx.MockTransport(prometheus)
    client = PrometheusClient("http://prometheus.test", retries=0, transport=transport)

    # 2 % errors against a 0.1 % budget: 20x everywhere, remaining 1 - 20 = -19 -> freeze.
    first = evaluate(db, client, T0)
    assert {a["state"] for a in first["alerts"]} == {"pending"}
    assert first["policy"]["state"] == "freeze" and first["policy"]["stale"] is False
    firing = evaluate(db, client, T0 + 2 * M)  # pages held 2m: firing; tickets still pending
    states = {a["alert"]: a["state"] for a in firing["alerts"]}
    assert states == {
        "page-1h": "firing",
        "page-6h": "firing",
        "ticket-1d": "pending",
        "ticket-3d": "pending",
    }
    assert alert_events(db) == [("page-1h", True), ("page-6h", True)]

    prometheus.up = False
    for minute in (3, 10, 20):
        stale = evaluate(db, client, T0 + minute * M)
        assert stale["status"] == "no_data"
        assert stale["no_data_since"] == (T0 + 2 * M).isoformat()
        assert stale["policy"]["state"] == "freeze" and stale["policy"]["stale"] is True
        assert stale["policy"]["blocks_changes"] is True
        kept = {a["alert"]: (a["state"], a["stale"]) for a in stale["alerts"]}
        assert kept["page-1h"] == ("firing", True) and kept["ticket-1d"] == ("pending", True)
    assert alert_events(db) == [("page-1h", True), ("page-6h", True)]  # nothing resolved
    with db.read() as session:
        state = budget_policies.service_state(session, service="checkout")
    assert state["state"] == "freeze" and state["blocks_changes"] is True

    prometheus.up = True  # back: the tickets' condition has held since T0, past their 15m
    back = evaluate(db, client, T0 + 21 * M)
    assert {a["state"] for a in back["alerts"]} == {"firing"}
    assert back["policy"]["stale"] is False and back["no_data_since"] is None
    assert alert_events(db)[2:] == [("ticket-1d", True), ("ticket-3d", True)]
    client.close()


def test_a_reset_starts_a_budget_whose_state_is_unknown(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    with db.write() as session:
        slo_service.apply_specs(
            session, principal=SYSTEM, text=(FIXTURES / "checkout_availability.yaml").read_text()
        )
    prometheus = FlakyPrometheus()
    transport = httpx.MockTransport(prometheus)
    client = PrometheusClient("http://prometheus.test", retries=0, transport=transport)
    assert evaluate(db, client, T0)["policy"]["state"] == "freeze"
    prometheus.up = False
    frozen_clock.current = T0 + 5 * M
    with db.write() as session:
        slo_service.reset_budget(
            session, principal=SYSTEM, ref="checkout/availability", reason="incident fixed"
        )
    after = evaluate(db, client, T0 + 6 * M)
    # The freeze belonged to the old budget; the new one has not been measured yet.
    assert after["policy"]["state"] == "no_data" and after["policy"]["stale"] is False
    client.close()
