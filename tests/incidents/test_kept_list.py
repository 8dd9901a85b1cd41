"""The incident list (API and page) is kept per process under the "incidents" generation and until
a shown response state or overdue update turns: after a write to any table it reads, and with
the clock moved across a response target or a promised update, a long-lived app answers what an
app that keeps nothing does, for every filter, limit and cursor. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from opsloop.app import create_app
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.schemas import encode_cursor
from opsloop.incidents import lifecycle
from opsloop.incidents.rules import DEFAULT_RESPONSE_TARGETS, Severity
from opsloop.incidents.vocabulary import Audience
from tests.helpers import bearer
from tests.incidents.helpers import RESPONDER, declare, make_service
from tests.incidents.test_list_json import _seed
from tests.kept import assert_fresh, assert_kept, assert_writes_seen, kept

__all__ = ["kept"]

API = "/api/v1/incidents"
PATHS = [
    API,
    f"{API}?limit=3",
    f"{API}?limit=4",
    f"{API}?limit=3&cursor={encode_cursor(9)}",
    f"{API}?limit=3&cursor={encode_cursor(5)}",
    f"{API}?status=open",
    f"{API}?status=resolved&limit=2",
    f"{API}?severity=SEV1",
    f"{API}?service=checkout",
    f"{API}?team=payments",
    f"{API}?team=payments&service=search",
    f"{API}?since=2026-11-02T10:00:00Z",
]
PAGES = ["/incidents", "/incidents?team=payments", "/incidents?status=open&severity=SEV2"]


def test_a_write_to_any_table_the_list_reads_is_seen_at_once(
    kept: TestClient,
    settings: Settings,
    db: Database,
    tokens: dict[Role, str],
    frozen_clock: clock.FrozenClock,
) -> None:
    _seed(db, frozen_clock)
    viewer = tokens[Role.viewer]
    seen = assert_fresh(kept, settings, db, viewer, PATHS, PAGES)
    declared = kept.post(
        API, json={"title": "New one", "severity": "SEV1"}, headers=bearer(tokens[Role.responder])
    )
    assert declared.status_code == 201, declared.text
    writes = [
        "UPDATE incidents SET title = 'Renamed' WHERE id = 9",
        "DELETE FROM incident_services WHERE service = 'search'",
        # The team filter reads which services the team owns, and the team itself.
        "UPDATE services SET owner_team_id = NULL WHERE name = 'checkout'",
        "UPDATE teams SET name = 'payments-eu' WHERE name = 'payments'",
    ]
    seen = assert_writes_seen(kept, settings, db, viewer, PATHS, seen, [None, *writes], PAGES)
    make_service(db, "zeta")  # the page's service menu
    assert assert_fresh(kept, settings, db, viewer, PATHS, PAGES) != seen


def test_an_answer_is_kept_until_a_response_target_or_a_promised_update_passes(
    kept: TestClient,
    settings: Settings,
    db: Database,
    tokens: dict[Role, str],
    frozen_clock: clock.FrozenClock,
) -> None:
    viewer = tokens[Role.viewer]
    sev1 = declare(db, title="Down", severity=Severity.SEV1)
    frozen_clock.advance(timedelta(minutes=1))
    sev2 = declare(db, title="Slow", severity=Severity.SEV2)
    with db.write() as session:
        lifecycle.acknowledge(session, principal=RESPONDER, key=sev2.key)
        lifecycle.post_update(
            session,
            principal=RESPONDER,
            key=sev2.key,
            audience=Audience.internal,
            text="looking",
            next_update_at=clock.now() + timedelta(minutes=30),
        )
    promised = clock.now() + timedelta(minutes=30)
    due = sev1.declared_at + DEFAULT_RESPONSE_TARGETS[Severity.SEV1]

    def states() -> tuple[str, bool]:
        found = {i["key"]: i for i in kept.get(API, headers=bearer(viewer)).json()["items"]}
        return found[sev1.key]["response"]["state"], found[sev2.key]["update_overdue"]

    def at(moment: datetime) -> None:
        frozen_clock.current = moment
        assert_fresh(kept, settings, db, viewer, PATHS[:3], PAGES[:1])

    at(due - timedelta(minutes=1))
    assert states() == ("pending", False)
    at(due)  # "overdue" is after the target, not at it
    assert states() == ("pending", False)
    at(due + timedelta(microseconds=1))
    assert states() == ("overdue", False)
    at(promised)
    assert states() == ("overdue", False)
    at(promised + timedelta(microseconds=1))
    assert states() == ("overdue", True)
    at(promised + timedelta(days=400))  # nothing shown turns any more: kept for good
    assert states() == ("overdue", True)


def test_the_configured_targets_are_part_of_what_is_kept(
    settings: Settings, db: Database, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    declare(db, title="Slow", severity=Severity.SEV2)
    frozen_clock.advance(timedelta(minutes=10))
    tight = settings.model_copy(update={"incident_response_targets": {"SEV2": 5}})
    viewer = tokens[Role.viewer]
    loose = assert_fresh_once(settings, db, viewer)
    strict = assert_fresh_once(tight, db, viewer)
    assert loose != strict
    assert b'"target_minutes":5,' in strict[API][1] and b'"state":"overdue"' in strict[API][1]


def assert_fresh_once(settings: Settings, db: Database, token: str) -> dict[str, object]:
    with TestClient(create_app(settings, db)) as client:
        return assert_fresh(client, settings, db, token, PATHS[:2], PAGES[:1])


def test_an_answer_asked_again_reads_no_incident(
    kept: TestClient, db: Database, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    _seed(db, frozen_clock)
    frozen_clock.advance(timedelta(days=1))  # every response target and promised update passed
    assert_kept(kept, db, tokens[Role.viewer], PATHS, "incidents")
