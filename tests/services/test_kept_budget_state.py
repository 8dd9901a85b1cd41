"""A service's budget state is kept per process until the service, its team, its SLOs, their
evaluations or its error-budget policy change (counters "services", "slos" and
"budget_policies"): after a write to any of them a long-lived app answers what an app that keeps
nothing does. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from opsloop.app import create_app
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.slo import evaluation
from tests.helpers import bearer
from tests.kept import assert_fresh, assert_kept, assert_writes_seen, kept
from tests.services.helpers import make_slo

__all__ = ["kept"]
API = "/api/v1/services"
PATHS = [
    f"{API}/checkout/budget-state",
    f"{API}/search/budget-state",  # no SLO: the policy's no_data answer
    f"{API}/nope/budget-state",  # 404, never kept
]
FREEZE_EARLY = {
    "tiers": [
        {"threshold": 1.0, "state": "monitor", "action": "ship"},
        {"threshold": 0.99, "state": "freeze", "action": "stop", "blocks_changes": True},
    ]
}


@pytest.fixture(autouse=True)
def varied(settings: Settings, db: Database, tokens: dict[Role, str]) -> None:
    with TestClient(create_app(settings, db)) as client:
        team = {"name": "team-a", "display_name": "Team A"}
        approver, responder = bearer(tokens[Role.approver]), bearer(tokens[Role.responder])
        assert client.post("/api/v1/teams", json=team, headers=approver).status_code == 201
        for name, owner in (("checkout", "team-a"), ("search", None)):
            body = {"name": name, "tier": 1, "owner_team": owner}
            assert client.post(API, json=body, headers=responder).status_code == 201
        # PostgreSQL's tests start with no counter rows; a counter's row comes with its first
        # write, and until then nothing is kept.
        policy = {"tiers": [{"threshold": 1.0, "state": "monitor", "action": "ship"}]}
        put = client.put(f"{API}/search/policy", json=policy, headers=bearer(tokens[Role.admin]))
        assert put.status_code == 200, put.text
    make_slo(db, "checkout")
    make_slo(db, "checkout", "latency")
    evaluation.evaluate(db, now=clock.now())


def test_a_write_to_anything_it_reads_is_seen_at_once(
    kept: TestClient, settings: Settings, db: Database, tokens: dict[Role, str]
) -> None:
    viewer = tokens[Role.viewer]
    seen = assert_fresh(kept, settings, db, viewer, PATHS)
    writes = [
        "UPDATE services SET display_name = 'Checkout!' WHERE name = 'checkout'",
        "UPDATE teams SET name = 'team-z' WHERE name = 'team-a'",  # shown as the owner
        "UPDATE slos SET policy_state = 'freeze' WHERE name = 'latency'",
        "DELETE FROM slo_evaluations WHERE slo_id IN (SELECT id FROM slos WHERE name = 'latency')",
    ]
    seen = assert_writes_seen(kept, settings, db, viewer, PATHS, seen, writes)
    # The policy: set through the app, then changed by another process.
    admin = bearer(tokens[Role.admin])
    for service in ("checkout", "search"):
        put = kept.put(f"{API}/{service}/policy", json=FREEZE_EARLY, headers=admin)
        assert put.status_code == 200, put.text
    seen = assert_writes_seen(kept, settings, db, viewer, PATHS, seen, [None])
    tiers = kept.get(PATHS[1], headers=bearer(viewer)).json()["tiers"]
    assert [t["state"] for t in tiers] == ["monitor", "freeze"]
    writes = ["DELETE FROM slo_service_policies WHERE service = 'search'"]
    assert_writes_seen(kept, settings, db, viewer, PATHS, seen, writes)


def test_it_reads_as_the_service_layer_answers(
    kept: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    from opsloop.services import usage

    body = kept.get(PATHS[0], headers=bearer(tokens[Role.viewer])).json()
    with db.read() as session:
        state = usage.budget_state(session, name="checkout")
    assert [s["name"] for s in body["slos"]] == ["availability", "latency"]
    assert body["owner_team"] == "team-a" and body["state"] == state["state"]
    assert body["tiers"] == state["tiers"]
    assert [s["status"] for s in body["slos"]] == [s["status"] for s in state["slos"]]


@pytest.mark.parametrize("table", ["slos", "slo_evaluations", "services", "slo_service_policies"])
def test_an_answer_asked_again_reads_none_of_its_rows(
    kept: TestClient, db: Database, tokens: dict[Role, str], table: str
) -> None:
    assert_kept(kept, db, tokens[Role.viewer], PATHS[:2], table)
