"""The alert-storm benchmark at a tiny size, in process: its payloads go through the HTTP
receiver, the router routes them, and its check finds the result exact."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi.testclient import TestClient

from opsloop.alerts import router
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.helpers import bearer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "alerts"))

import bench_storm


def test_a_tiny_storm_is_stored_and_routed_exactly(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    headers = {**bearer(tokens[Role.responder]), "Content-Type": "application/json"}
    for rule in bench_storm.RULES:
        assert client.post("/api/v1/alerts/routes", json=rule, headers=headers).status_code == 201
    storm = bench_storm.Storm(600, services=3, per_payload=20, retry=0.2)

    def post(body: bytes) -> int:
        return client.post(bench_storm.PATH, content=body, headers=headers).status_code

    sent = bench_storm.send(storm, post, clients=2)
    assert sent["errors"] == 0 and sent["requests"] > 600 // 20
    assert bench_storm.check(db, storm)["unrouted"] > 0
    router.route_pending(db, batch=50)
    found = bench_storm.check(db, storm)
    assert found["exact"], found
    assert found["incidents"] == 3 and found["resolved_sent"] > 0
