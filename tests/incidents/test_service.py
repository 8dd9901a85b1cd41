"""Declaring, reading, listing and editing incidents through the service: keys, validation
through the catalog, the SLO domain and the users, time rules and the timeline entries every
change leaves. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.core.errors import Forbidden, NotFound, ValidationFailed
from opsloop.incidents import lifecycle
from opsloop.incidents import service as incidents
from opsloop.incidents.rules import Severity, Status
from opsloop.incidents.vocabulary import DetectionMethod
from opsloop.services import service as catalog
from opsloop.services import teams
from opsloop.services.entries import TeamEntry
from tests.incidents.helpers import RESPONDER, VIEWER, actions, declare, make_people, make_service
from tests.services.helpers import make_slo


def test_declare_numbers_per_year_and_records_everything(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    make_service(db, "checkout")
    make_slo(db, "checkout")
    make_people(db, "alice", "bob")
    started = frozen_clock.current - timedelta(minutes=20)
    first = declare(
        db,
        summary="5xx on pay",
        services=["checkout"],
        slos=["checkout/availability"],
        detection_method=DetectionMethod.alert,
        commander="alice",
        scribe="bob",
        users_affected=1200,
        features_impacted=["pay", "cart"],
        revenue_impact="about 3k EUR/h",
        started_at=started,
    )
    assert first.key == "INC-2026-001"
    assert (first.status, first.severity, first.services, first.slos) == (
        Status.investigating,
        Severity.SEV2,
        ("checkout",),
        ("checkout/availability",),
    )
    assert first.started_at == started and first.declared_at == frozen_clock.current
    assert first.detected_at == frozen_clock.current
    assert first.features_impacted == ("pay", "cart") and first.commander == "alice"
    assert declare(db).key == "INC-2026-002"
    frozen_clock.advance(timedelta(days=60))  # into 2027
    assert declare(db).key == "INC-2027-001"
    assert actions(db, "INC-2026-001") == ["incident.declare"]
    with db.read() as session:
        shown = incidents.get_incident(session, key="inc-2026-001")
        events = lifecycle.timeline_of(session, key="INC-2026-001")
    assert shown.title == "Checkout errors"
    assert [e.kind.value for e in events] == ["detection", "response"]
    assert all(e.automatic for e in events[1:])


def test_started_defaults_to_declared(db: Database, frozen_clock: clock.FrozenClock) -> None:
    found = declare(db)
    assert found.started_at == found.declared_at == frozen_clock.current


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"services": ["chekout"]}, "services"),
        ({"commander": "nobody"}, "commander"),
        ({"scribe": "ghost"}, "scribe"),
        ({"slos": ["checkout/none"]}, "slos"),
        ({"title": "  "}, "title"),
        ({"users_affected": -1}, "users_affected"),
        ({"started_at": datetime(2030, 1, 1, tzinfo=UTC)}, "started_at"),
    ],
)
def test_bad_declarations_are_refused_naming_the_field_and_change_nothing(
    db: Database, values: dict[str, object], field: str
) -> None:
    make_service(db, "checkout")
    values = dict(values)
    title = str(values.pop("title", "Checkout errors"))
    with pytest.raises(ValidationFailed) as caught:
        declare(db, title, **values)
    assert caught.value.field == field
    with db.read() as session:
        assert incidents.list_incidents(session) == []
        assert catalog.find_service(session, name="chekout") is None  # a typo creates nothing
    assert declare(db).key.endswith("-001")  # and took no number


def test_a_rolled_back_declaration_leaves_no_gap(db: Database) -> None:
    assert declare(db).key.endswith("-001")
    with pytest.raises(RuntimeError), db.write() as session:
        incidents.declare(session, principal=RESPONDER, title="x", severity=Severity.SEV3)
        raise RuntimeError("the caller fails after declaring")
    assert declare(db).key.endswith("-002")


def test_viewers_cannot_declare(db: Database) -> None:
    with pytest.raises(Forbidden), db.write() as session:
        incidents.declare(session, principal=VIEWER, title="x", severity=Severity.SEV3)


def test_edits_land_on_the_timeline_with_before_and_after(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    make_service(db, "checkout")
    make_service(db, "search")
    make_people(db, "alice", "bob")
    found = declare(db, severity=Severity.SEV3, services=["checkout"])
    earlier = frozen_clock.current - timedelta(hours=1)
    frozen_clock.advance(timedelta(minutes=5))
    with db.write() as session:
        edited = incidents.update_incident(
            session,
            principal=RESPONDER,
            key=found.key,
            changes={
                "severity": "SEV1",
                "commander": "alice",
                "communications_lead": "bob",
                "started_at": earlier,
                "services": ["checkout", "search"],
                "users_affected": 40,
            },
        )
    assert edited.severity == Severity.SEV1 and edited.services == ("checkout", "search")
    with db.read() as session:
        events = lifecycle.timeline_of(session, key=found.key)
    changes = {e.change["field"]: e for e in events if e.change}
    assert changes["severity"].kind.value == "escalation"
    assert changes["severity"].change == {"field": "severity", "before": "SEV3", "after": "SEV1"}
    assert changes["commander"].change["after"] == "alice"  # type: ignore[index]
    assert changes["started_at"].change["after"] == earlier.isoformat()  # type: ignore[index]
    assert {"services", "users_affected", "communications_lead"} <= set(changes)
    assert actions(db, found.key) == ["incident.declare", "incident.update"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"severity": "SEV9"}, "severity"),
        ({"services": ["nope"]}, "services"),
        ({"scribe": "nobody"}, "scribe"),
        ({"status": "resolved"}, "status"),
        ({"detected_at": datetime(2026, 1, 1, tzinfo=UTC)}, "detected_at"),
        ({"resolved_at": datetime(2026, 11, 2, 9, tzinfo=UTC)}, "resolved_at"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_edits_are_refused(
    db: Database, frozen_clock: clock.FrozenClock, changes: dict[str, object], field: str
) -> None:
    found = declare(db)
    with pytest.raises(ValidationFailed) as caught, db.write() as session:
        incidents.update_incident(session, principal=RESPONDER, key=found.key, changes=changes)
    assert caught.value.field == field
    assert actions(db, found.key) == ["incident.declare"]


def test_resolved_before_started_is_refused(db: Database, frozen_clock: clock.FrozenClock) -> None:
    found = declare(db)
    frozen_clock.advance(timedelta(hours=2))
    with db.write() as session:
        lifecycle.change_status(session, principal=RESPONDER, key=found.key, status=Status.resolved)
    with pytest.raises(ValidationFailed) as caught, db.write() as session:
        incidents.update_incident(
            session,
            principal=RESPONDER,
            key=found.key,
            changes={"resolved_at": found.started_at - timedelta(minutes=1)},
        )
    assert caught.value.field == "resolved_at"
    with db.write() as session:  # a resolution time after the start is fine
        moved = incidents.update_incident(
            session,
            principal=RESPONDER,
            key=found.key,
            changes={"resolved_at": found.started_at + timedelta(minutes=30)},
        )
    assert moved.durations()["time_to_resolve_minutes"] == 30.0


def test_list_filters(db: Database, frozen_clock: clock.FrozenClock) -> None:
    with db.write() as session:
        teams.create_team(session, principal=SYSTEM, entry=TeamEntry(name="payments"))
    make_service(db, "checkout", owner_team="payments")
    make_service(db, "search")
    a = declare(db, "a", services=["checkout"], severity=Severity.SEV1)
    frozen_clock.advance(timedelta(days=1))
    b = declare(db, "b", services=["search"], severity=Severity.SEV3)
    with db.write() as session:
        lifecycle.change_status(session, principal=RESPONDER, key=b.key, status=Status.resolved)

    def keys(**flt: object) -> list[str]:
        with db.read() as session:
            found = incidents.list_incidents(session, flt=incidents.IncidentFilter(**flt))  # type: ignore[arg-type]
        return [i.key for i in found]

    assert keys() == [b.key, a.key]
    assert keys(service="checkout") == [a.key]
    assert keys(team="payments") == [a.key]
    assert keys(severity=Severity.SEV3) == [b.key]
    assert keys(status=Status.resolved) == [b.key]
    assert keys(open_only=True) == [a.key]
    assert keys(since=frozen_clock.current - timedelta(hours=1)) == [b.key]
    assert keys(until=frozen_clock.current - timedelta(hours=1)) == [a.key]
    with pytest.raises(ValidationFailed) as caught, db.read() as session:
        incidents.list_incidents(session, flt=incidents.IncidentFilter(team="nope"))
    assert caught.value.field == "team"
    with db.read() as session:
        assert [i.key for i in incidents.open_incidents(session, service="checkout")] == [a.key]


def test_unknown_keys_are_not_found(db: Database) -> None:
    with pytest.raises(NotFound), db.read() as session:
        incidents.get_incident(session, key="INC-2026-999")
    with pytest.raises(NotFound), db.read() as session:
        incidents.get_incident(session, key="not-a-key")
