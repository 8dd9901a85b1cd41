"""When a counter moves, the requests in flight for one kept answer share one build instead of
each reading the same rows in a worker thread of its own (with and without an expiry); a
request that arrives after the counter moved again gets a build of its own, and requests that
waited while the answer's shown time turned share one more build. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from opsloop.app import create_app
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.incidents.rules import DEFAULT_RESPONSE_TARGETS, Severity
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


class TurnsOnceABuildHasReadIt:
    """A clock at ``before`` until a build (off the event loop's thread) has read it, then at
    ``after``: the time turns while the requests that asked with it wait for that build."""

    def __init__(self, before: datetime, after: datetime) -> None:
        self.before, self.after, self.turned = before, after, False

    def __call__(self) -> datetime:
        if self.turned:
            return self.after
        self.turned = threading.current_thread() is not threading.main_thread()
        return self.before


def test_requests_that_waited_past_the_answers_turn_share_one_more_build(
    settings: Settings, db: Database, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    # An answer that shows the time is kept until a shown value turns. When that instant
    # passes while requests wait for a build, the answer they get is stale already: they need
    # one built after the turn, and one build serves them all.
    viewer = tokens[Role.viewer]
    app = create_app(settings, db)
    with TestClient(app):
        pass
    down = declare(db, title="Down", severity=Severity.SEV1)
    due = down.declared_at + DEFAULT_RESPONSE_TARGETS[Severity.SEV1]
    frozen_clock.current = due - timedelta(minutes=1)
    with slowed_reads(db, "incidents", SLOW) as one:
        together(app, viewer, INCIDENTS, 1)
    write(db, "UPDATE incidents SET title = 'Still down'")
    clock.set_clock(TurnsOnceABuildHasReadIt(frozen_clock.current, due + timedelta(seconds=1)))
    try:
        with slowed_reads(db, "incidents", SLOW) as reads:
            answers = together(app, viewer, INCIDENTS, 12)
    finally:
        clock.set_clock(frozen_clock)
    states = {json.loads(a)["items"][0]["response"]["state"] for a in answers}
    assert states == {"overdue"}  # built after the turn, for every request
    assert len(reads) == 2 * len(one) > 0, reads  # the first build and one more, not twelve
