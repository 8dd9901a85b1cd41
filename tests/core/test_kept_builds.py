"""When a counter moves, the requests in flight for one kept answer share one build instead of
each reading the same rows in a worker thread of its own (with and without an expiry); a
request that arrives after the counter moved again gets a build of its own. SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from opsloop.app import create_app
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.helpers import bearer
from tests.incidents.helpers import declare
from tests.kept import asked_together, slowed_reads, write

SLOW = 0.2
SERVICES, INCIDENTS = "/api/v1/services?limit=5", "/api/v1/incidents?limit=5"


def together(app: Any, token: str, path: str, count: int) -> list[bytes]:
    answers = asked_together(app, path, token, count)
    assert [a.status_code for a in answers] == [200] * count
    return [a.content for a in answers]


def test_requests_that_miss_together_share_one_build(
    settings: Settings, db: Database, tokens: dict[Role, str]
) -> None:
    viewer = tokens[Role.viewer]
    app = create_app(settings, db)
    with TestClient(app) as client:
        body = {"name": "alpha", "tier": 1}
        created = client.post("/api/v1/services", json=body, headers=bearer(tokens[Role.admin]))
        assert created.status_code == 201, created.text
    declare(db, title="Down")
    for path, table, change in (
        (SERVICES, "services", "UPDATE services SET tier = 2"),
        (INCIDENTS, "incidents", "UPDATE incidents SET title = 'Still down'"),
    ):
        assert len(set(together(app, viewer, path, 1))) == 1  # kept now
        write(db, change)
        with slowed_reads(db, table, SLOW) as one:
            alone = together(app, viewer, path, 1)
        write(db, change.replace("2", "3").replace("Still", "Yet"))
        with slowed_reads(db, table, SLOW) as shared:
            answers = together(app, viewer, path, 12)
        assert len(shared) == len(one) > 0, (path, shared)
        assert len(set(answers)) == 1 and answers[0] != alone[0]
        with slowed_reads(db, table, SLOW) as again:  # kept: read from memory
            assert together(app, viewer, path, 3) == answers[:3]
        assert again == []
