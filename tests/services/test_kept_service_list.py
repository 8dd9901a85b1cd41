"""The service list is kept per process under the "services" generation (nothing in it shows
the time): after any write to services or teams a long-lived app answers what an app that keeps
nothing does, for every filter, limit and cursor. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from opsloop.app import create_app
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.helpers import bearer
from tests.kept import assert_fresh, assert_kept, assert_writes_seen, kept

__all__ = ["kept"]
API = "/api/v1/services"
PATHS = [
    API,
    f"{API}?limit=2",
    f"{API}?limit=2&cursor={2:x}",
    f"{API}?tier=1",
    f"{API}?team=team-a",
    f"{API}?team=team-z",
    f"{API}?unowned=true",
    f"{API}?q=GAMMA",
]


@pytest.fixture(autouse=True)
def varied(settings: Settings, db: Database, tokens: dict[Role, str]) -> None:
    with TestClient(create_app(settings, db)) as client:
        team = {"name": "team-a", "display_name": "Team A"}
        approver, responder = bearer(tokens[Role.approver]), bearer(tokens[Role.responder])
        assert client.post("/api/v1/teams", json=team, headers=approver).status_code == 201
        for name, tier, owner in (("alpha", 1, "team-a"), ("beta", 2, None), ("gamma", 1, None)):
            body = {"name": name, "tier": tier, "owner_team": owner, "description": f"{name} one"}
            assert client.post(API, json=body, headers=responder).status_code == 201


def test_a_write_to_services_or_teams_is_seen_at_once(
    kept: TestClient, settings: Settings, db: Database, tokens: dict[Role, str]
) -> None:
    viewer = tokens[Role.viewer]
    seen = assert_fresh(kept, settings, db, viewer, PATHS)
    writes = [
        "UPDATE services SET description = 'changed', tier = 1 WHERE name = 'beta'",
        "UPDATE teams SET name = 'team-z' WHERE name = 'team-a'",  # shown, and filtered on
        "DELETE FROM services WHERE name = 'gamma'",
    ]
    assert_writes_seen(kept, settings, db, viewer, PATHS, seen, writes)


def test_an_answer_asked_again_reads_no_service(
    kept: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    assert_kept(kept, db, tokens[Role.viewer], PATHS, "services")
