"""The alert list is kept per process under the "alerts" generation (nothing in it depends on the
time): after any write to alerts a long-lived app answers what an app that keeps nothing does,
for every filter, limit and cursor. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.alerts.test_alert_listing import varied
from tests.helpers import bearer
from tests.kept import assert_fresh, assert_kept, assert_writes_seen, kept

pytestmark = pytest.mark.usefixtures("varied")
__all__ = ["kept", "varied"]
API = "/api/v1/alerts"
PATHS = [
    API,
    f"{API}?limit=4",
    f"{API}?limit=5",
    f"{API}?limit=4&cursor={12:x}",
    f"{API}?limit=4&cursor={9:x}",
    f"{API}?status=firing&limit=3",
    f"{API}?service=svc-1",
    f"{API}?severity=high",
    f"{API}?name=DiskFull",
    f"{API}?since=2026-11-02T09:10:00Z",
]


def test_a_write_to_alerts_is_seen_at_once(
    kept: TestClient, settings: Settings, db: Database, tokens: dict[Role, str]
) -> None:
    viewer = tokens[Role.viewer]
    seen = assert_fresh(kept, settings, db, viewer, PATHS)
    acked = kept.post(f"{API}/23/ack", headers=bearer(tokens[Role.responder]))
    assert acked.status_code == 200, acked.text
    writes = [
        "UPDATE alerts SET name = 'DiskFull', severity = 'high' WHERE id = 20",
        "DELETE FROM alerts WHERE id = 21",
    ]
    assert_writes_seen(kept, settings, db, viewer, PATHS, seen, [None, *writes])


def test_an_answer_asked_again_reads_no_alert(
    kept: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    assert_kept(kept, db, tokens[Role.viewer], PATHS, "alerts")
