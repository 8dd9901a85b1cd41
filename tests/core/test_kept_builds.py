"""When a counter moves, the requests in flight for one kept answer share one build instead of
each reading the same rows in a worker thread of its own (with and without an expiry); a
request that arrives after the counter moved again gets a build of its own. SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import event

from opsloop.app import create_app
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.helpers import bearer
from tests.incidents.helpers import declare
from tests.kept import write

SLOW = 0.2
SERVICES, INCIDENTS = "/api/v1/services?limit=5", "/api/v1/incidents?limit=5"


@contextmanager
def reads_of(db: Database, table: str) -> Iterator[list[str]]:
    """Each statement reading ``table``, slowed so that requests meet while a build runs."""
    seen: list[str] = []

    def slowed(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if f"FROM {table}" in statement:
            seen.append(statement)
            time.sleep(SLOW)

    event.listen(db.engine, "before_cursor_execute", slowed)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", slowed)


def together(app: Any, token: str, path: str, count: int) -> list[bytes]:
    async def main() -> list[bytes]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answers = await asyncio.gather(
                *(http.get(path, headers=bearer(token)) for _ in range(count))
            )
        assert [a.status_code for a in answers] == [200] * count
        return [a.content for a in answers]

    return asyncio.run(main())


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
        with reads_of(db, table) as one:
            alone = together(app, viewer, path, 1)
        write(db, change.replace("2", "3").replace("Still", "Yet"))
        with reads_of(db, table) as shared:
            answers = together(app, viewer, path, 12)
        assert len(shared) == len(one) > 0, (path, shared)
        assert len(set(answers)) == 1 and answers[0] != alone[0]
        with reads_of(db, table) as again:  # kept: read from memory
            assert together(app, viewer, path, 3) == answers[:3]
        assert again == []
