"""Routing alerts to incidents after they are stored: a storm declares one incident, later
alerts of the cause join it, attach and its fallback, ``continue``, non-matching alerts stay
unlinked. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsloop.alerts import router, routing_rules
from opsloop.alerts import service as alerts
from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.incidents import lifecycle
from opsloop.incidents import service as incident_service
from opsloop.incidents.rules import Severity, Status
from tests.alerts.payloads import alert
from tests.alerts.routing_helpers import (
    FIRST,
    add_rule,
    incidents,
    linked_counts,
    receive,
    receive_in_batches,
    storm,
    unrouted,
)

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _now(frozen_clock: clock.FrozenClock) -> None:
    frozen_clock.current = NOW


def test_a_storm_over_several_batches_declares_one_incident(db: Database) -> None:
    rule = add_rule(db, '{severity=~"critical|high", env!="dev"}', severity="SEV2")
    receive_in_batches(db, storm(2000))
    outcome = router.route_pending(db, batch=300)
    assert outcome.routed == 2000 and outcome.linked == 2000
    (incident,) = incidents(db)
    assert outcome.declared == [incident.key]
    assert incident.severity == Severity.SEV2
    assert incident.origin == f"route:{rule}:api:1"
    assert incident.detected_at == FIRST and incident.started_at == FIRST
    assert incident.title == "HighErrorRate: errors above 5% (api)"
    assert linked_counts(db) == {incident.id: 2000}
    assert unrouted(db) == 0
    with db.read() as session:
        linked = alerts.alerts_of_incident(session, incident_id=incident.id)
        assert linked[0].starts_at == FIRST and {a.route_rule_id for a in linked} == {rule}
        assert incident_service.get_incident(session, key=incident.key).services == ("api",)

    # Later alerts of the same cause join the open incident.
    receive(db, *storm(5, prefix="later"))
    assert router.route_pending(db).declared == []
    assert linked_counts(db) == {incident.id: 2005}


def test_a_resolved_incident_lets_the_cause_declare_the_next(db: Database) -> None:
    rule = add_rule(db, 'service="api"')
    receive(db, *storm(3))
    router.route_pending(db)
    (first,) = incidents(db)
    with db.write() as session:
        lifecycle.change_status(session, principal=SYSTEM, key=first.key, status=Status.resolved)
    receive(db, *storm(2, prefix="again"))
    second_keys = router.route_pending(db).declared
    assert len(second_keys) == 1
    second = incidents(db)[1]
    assert second.origin == f"route:{rule}:api:2"
    assert linked_counts(db) == {first.id: 3, second.id: 2}


def test_non_matching_and_resolved_alerts_declare_nothing(db: Database) -> None:
    add_rule(db, 'severity="critical", env!="dev"')
    receive(
        db,
        alert("dev", labels={"service": "api", "severity": "critical", "env": "dev"}),
        alert("low", labels={"service": "api", "severity": "low"}),
        alert(
            "gone",
            status="resolved",
            ends="2026-11-02T09:00:00Z",
            labels={"service": "api", "severity": "critical"},
        ),
    )
    outcome = router.route_pending(db)
    assert outcome.routed == 3 and outcome.declared == []
    assert incidents(db) == []
    assert linked_counts(db) == {None: 3}
    assert unrouted(db) == 0


def test_attach_joins_the_open_incident_or_falls_back(db: Database) -> None:
    attach = add_rule(db, 'severity="high"', "attach", continue_matching=True)
    fallback = add_rule(db, 'severity="medium"', "attach", fallback_declare=True, severity="SEV4")
    receive(db, alert("h1", labels={"service": "api", "severity": "high"}))
    router.route_pending(db)
    assert incidents(db) == []  # nothing open, no fallback, no later rule: left unlinked
    receive(db, alert("m1", labels={"service": "api", "severity": "medium"}))
    router.route_pending(db)
    (declared,) = incidents(db)
    assert declared.severity == Severity.SEV4 and declared.origin == f"route:{fallback}:api:1"
    receive(db, alert("h2", labels={"service": "api", "severity": "high"}))
    router.route_pending(db)
    with db.read() as session:
        h2 = alerts.list_alerts(session, flt=alerts.AlertFilter(), limit=1)[0]
    assert h2.fingerprint == "h2" and h2.incident_id == declared.id
    assert h2.route_rule_id == attach


def test_continue_tries_the_next_rule(db: Database) -> None:
    add_rule(db, 'service="api"', "attach", continue_matching=True)
    declare = add_rule(db, 'severity="critical"', severity="SEV1")
    with db.read() as session:
        rules = routing_rules.list_rules(session)
    tried = routing_rules.matching(rules, {"service": "api", "severity": "critical"})
    assert [r.action.value for r in tried] == ["attach", "declare"]
    receive(db, *storm(2))
    router.route_pending(db)
    (incident,) = incidents(db)
    assert incident.origin == f"route:{declare}:api:1" and incident.severity == Severity.SEV1


def test_without_rules_the_router_writes_nothing_and_the_first_rule_starts_from_now(
    db: Database,
) -> None:
    receive(db, *storm(10))
    assert router.route_pending(db).claimed == 0  # no rule: no write per arriving alert
    assert unrouted(db) == 10
    add_rule(db, 'service="api"')
    assert unrouted(db) == 0  # what came before the first rule counts as routed to nothing
    assert router.route_pending(db).routed == 0
    assert incidents(db) == []
    receive(db, *storm(3, prefix="after"))
    assert router.route_pending(db).routed == 3
    assert len(incidents(db)) == 1


def test_two_services_two_causes(db: Database) -> None:
    add_rule(db, 'severity="critical"')
    receive(db, *storm(50), *storm(50, service="db", prefix="d"))
    router.route_pending(db, batch=30)
    found = incidents(db)
    assert len(found) == 2
    assert sorted(linked_counts(db).values()) == [50, 50]


def test_odd_alert_text_still_declares(db: Database) -> None:
    add_rule(db, 'severity="critical"')
    receive(
        db,
        alert(
            "odd",
            name="Disk\tFull\x07",
            labels={"severity": "critical", "service": "api"},
            annotations={"summary": "line one\nline two " + "x" * 300},
        ),
    )
    router.route_pending(db)
    (incident,) = incidents(db)
    assert incident.title.startswith("Disk Full: line one line two x")
    assert incident.title.endswith("(api)") and len(incident.title) <= 200


def test_a_service_missing_from_the_catalog_still_declares(db: Database) -> None:
    from tests.alerts.test_escalation import receive as receive_without_catalog

    add_rule(db, 'severity="critical"')
    receive_without_catalog(db, *storm(3, service="ghost"))
    router.route_pending(db)
    (incident,) = incidents(db)
    assert incident.title == "HighErrorRate: errors above 5% (ghost)"
    assert linked_counts(db) == {incident.id: 3}


def test_an_edited_rule_keeps_its_incident(db: Database) -> None:
    rule = add_rule(db, 'severity="critical"')
    receive(db, *storm(2))
    router.route_pending(db)
    (incident,) = incidents(db)
    with db.write() as session:
        routing_rules.update_rule(
            session,
            principal=SYSTEM,
            rule_id=rule,
            changes={"matchers": 'severity=~"critical|high"'},
        )
    receive(db, *storm(2, prefix="h", severity="high"))
    assert router.route_pending(db).declared == []
    assert linked_counts(db) == {incident.id: 4}
