"""The change list is kept per process under the "changes" generation (nothing in it depends on
the time): after any write to changes a long-lived app answers what an app that keeps nothing
does, for every filter, limit and cursor. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.changes.test_change_listing import varied
from tests.kept import assert_fresh, assert_kept, assert_writes_seen, kept

pytestmark = pytest.mark.usefixtures("varied")
__all__ = ["kept", "varied"]
API = "/api/v1/changes"
PATHS = [
    API,
    f"{API}?limit=4",
    f"{API}?limit=5",
    f"{API}?limit=4&cursor={12:x}",
    f"{API}?limit=4&cursor={9:x}",
    f"{API}?state=submitted&limit=3",
    f"{API}?service=svc-1",
    f"{API}?risk=high",
    f"{API}?since=2026-11-02T12:00:00Z&until=2026-11-03T00:00:00Z",
]


def test_a_write_to_changes_is_seen_at_once(
    kept: TestClient, settings: Settings, db: Database, tokens: dict[Role, str]
) -> None:
    viewer = tokens[Role.viewer]
    seen = assert_fresh(kept, settings, db, viewer, PATHS)
    writes = [
        "UPDATE changes SET title = 'Renamed', risk = 'high' WHERE id = 22",
        "DELETE FROM changes WHERE id = 21",
    ]
    assert_writes_seen(kept, settings, db, viewer, PATHS, seen, writes)


def test_an_answer_asked_again_reads_no_change(
    kept: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    assert_kept(kept, db, tokens[Role.viewer], PATHS, "changes")
