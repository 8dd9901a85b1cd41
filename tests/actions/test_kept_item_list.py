"""The action item list is kept per process under the "action_items" generation and until an
item's being overdue or its days overdue would turn: after a write to any table it reads, and
with the clock moved across a due date's end or a later midnight, a long-lived app answers what
an app that keeps nothing does, for every filter, limit and cursor. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.actions.helpers import add
from tests.actions.test_item_listing import varied
from tests.helpers import bearer, make_user
from tests.kept import assert_fresh, assert_kept, assert_writes_seen, kept

pytestmark = pytest.mark.usefixtures("varied")
__all__ = ["kept", "varied"]
API = "/api/v1/action-items"
PATHS = [
    API,
    f"{API}?limit=4",
    f"{API}?limit=5",
    f"{API}?limit=4&cursor={12:x}",
    f"{API}?limit=4&cursor={9:x}",
    f"{API}?status=open&limit=3",
    f"{API}?owner=alice",
    f"{API}?team=payments",
    f"{API}?incident=INC-2026-002",
    f"{API}?overdue=true",
    f"{API}?due_within_days=2",
]


def test_a_write_to_any_table_the_list_reads_is_seen_at_once(
    kept: TestClient, settings: Settings, db: Database, tokens: dict[Role, str]
) -> None:
    viewer = tokens[Role.viewer]
    seen = assert_fresh(kept, settings, db, viewer, PATHS)
    note = kept.post(
        f"{API}/23/notes", json={"text": "checked"}, headers=bearer(tokens[Role.responder])
    )
    assert note.status_code == 201, note.text
    writes = [
        "UPDATE action_items SET description = 'Changed' WHERE id = 23",
        "DELETE FROM action_item_notes WHERE item_id = 23",
        "DELETE FROM action_item_escalations WHERE item_id = 23",
        # The team filter reads the team's members and the team; the incident filter the key.
        "DELETE FROM team_members WHERE username = 'alice'",
        "UPDATE teams SET name = 'payments-eu' WHERE name = 'payments'",
        "UPDATE incidents SET key = 'INC-2026-902' WHERE key = 'INC-2026-002'",
    ]
    assert_writes_seen(kept, settings, db, viewer, PATHS, seen, [None, *writes])


def test_an_answer_is_kept_until_a_due_date_ends_or_another_day_overdue_begins(
    kept: TestClient,
    settings: Settings,
    db: Database,
    tokens: dict[Role, str],
    frozen_clock: clock.FrozenClock,
) -> None:
    viewer = tokens[Role.viewer]
    midnight = datetime(2026, 11, 3, tzinfo=UTC)  # the frozen clock starts on 2026-11-02
    make_user(db, "zoe", Role.responder)
    add(db, "INC-2026-001", owner_user="zoe", due_on=date(2026, 11, 2))
    # Filters that read today: empty until midnight, or empty from then on.
    zoe = [f"{API}?overdue=true&owner=zoe", f"{API}?due_within_days=0&owner=zoe"]

    def overdue() -> list[tuple[int, bool, int]]:
        answers = assert_fresh(kept, settings, db, viewer, PATHS + zoe)
        items = json.loads(answers[API][1])["items"]
        return [(i["id"], i["overdue"], i["days_overdue"]) for i in items]

    def zoes() -> list[int]:
        return [len(kept.get(p, headers=bearer(viewer)).json()["items"]) for p in zoe]

    before = overdue()
    frozen_clock.current = midnight - timedelta(microseconds=1)
    assert overdue() == before and zoes() == [0, 1]
    frozen_clock.current = midnight  # items due on the 2nd are overdue, the others a day more
    after = overdue()
    assert after != before and zoes() == [1, 0]
    assert {i for i, late, _ in after if late} > {i for i, late, _ in before if late}
    frozen_clock.current = midnight + timedelta(hours=23)
    assert overdue() == after
    frozen_clock.current = midnight + timedelta(days=1)
    assert overdue() != after


def test_an_answer_asked_again_reads_no_item(
    kept: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    assert_kept(kept, db, tokens[Role.viewer], PATHS, "action_items")
