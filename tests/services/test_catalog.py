"""The catalog's use-cases: implicit creation by SLOs, lookups, explicit writes and the
deletions that are refused while something depends on them. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsloop.core.auth.roles import SYSTEM, Principal, Role
from opsloop.core.db import Database
from opsloop.core.errors import Conflict, Forbidden, ValidationFailed
from opsloop.services import service as catalog
from opsloop.services import teams, usage
from opsloop.services.entries import Link, ServiceEntry, TeamEntry
from opsloop.services.service import ServiceFacts
from opsloop.slo import service as slo_service
from tests.helpers import make_user
from tests.services.helpers import actions, audit_count, make_slo

RESPONDER = Principal(actor="responder", role=Role.responder)
VIEWER = Principal(actor="viewer", role=Role.viewer)
SPEC = (Path(__file__).parents[1] / "slo" / "fixtures" / "checkout_availability.yaml").read_text()


def test_a_created_slo_puts_its_service_in_the_catalog_once(db: Database) -> None:
    make_slo(db, "checkout")
    make_slo(db, "checkout", "latency")
    with db.read() as session:
        found = catalog.get_service(session, name="checkout")
    assert (found.origin, found.origin_source, found.owner_team) == ("implicit", "slo", None)
    assert actions(db, "service") == ["service.create"]


def test_an_applied_spec_creates_its_service_in_the_same_transaction(db: Database) -> None:
    with db.write() as session:
        applied = slo_service.apply_specs(session, principal=SYSTEM, text=SPEC)
        assert catalog.find_service(session, name="checkout") is not None
    assert [a.outcome for a in applied] == ["created"]
    with pytest.raises(RuntimeError), db.write() as session:
        slo_service.apply_definition(
            session,
            principal=SYSTEM,
            defn=slo_service.pushed_definition(service="rolled", name="a", objective=99.0),
        )
        raise RuntimeError("the SLO's transaction fails")
    with db.read() as session:
        assert catalog.find_service(session, name="rolled") is None


def test_ensure_services_returns_what_it_created_and_audits_each_once(db: Database) -> None:
    with db.write() as session:
        first = catalog.ensure_services(session, ["b", "a", "b"], source="alert", principal=SYSTEM)
        again = catalog.ensure_services(session, ["a", "c"], source="alert", principal=SYSTEM)
    assert (first, again) == (["a", "b"], ["c"])
    assert actions(db, "service") == ["service.create"] * 3
    with db.read() as session:
        assert catalog.get_service(session, name="c").origin_source == "alert"


def test_routing_facts_and_require_service(db: Database) -> None:
    with db.write() as session:
        teams.put_team(session, principal=SYSTEM, entry=TeamEntry(name="team-a"))
        catalog.create_service(
            session,
            principal=SYSTEM,
            entry=ServiceEntry(
                name="payments", display_name="Payments", owner_team="team-a", tier=1
            ),
        )
        catalog.ensure_services(session, ["search"], source="slo", principal=SYSTEM)
    with db.read() as session:
        facts = catalog.routing_facts(session, ["payments", "search", "nope"])
        assert facts == {
            "payments": ServiceFacts("payments", "Payments", "team-a", 1, "production"),
            "search": ServiceFacts("search", "", None, None, "production"),
        }
        assert catalog.require_service(session, "payments") == facts["payments"]
        with pytest.raises(ValidationFailed) as refused:
            catalog.require_service(session, "paymnets", field="labels.service")
    assert refused.value.status == 422 and refused.value.field == "labels.service"


def test_explicit_create_with_an_unknown_team_is_refused_and_writes_nothing(
    db: Database,
) -> None:
    before = audit_count(db)
    with pytest.raises(ValidationFailed) as refused, db.write() as session:
        catalog.create_service(
            session, principal=RESPONDER, entry=ServiceEntry(name="payments", owner_team="ghosts")
        )
    assert refused.value.field == "owner_team"
    assert audit_count(db) == before
    with db.read() as session:
        assert catalog.list_services(session) == []


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (ServiceEntry(name="Payments"), "name"),
        (ServiceEntry(name="p", tier=5), "tier"),
        (ServiceEntry(name="p", lifecycle="retired"), "lifecycle"),
        (ServiceEntry(name="p", links=(Link("repo", "ftp://x.example"),)), "links[0].url"),
        (ServiceEntry(name="p", links=(Link("", "https://x.example"),)), "links[0].name"),
        (ServiceEntry(name="p", labels={"bad key!": "v"}), "labels.bad key!"),
    ],
)
def test_bad_fields_are_named(db: Database, entry: ServiceEntry, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused, db.write() as session:
        catalog.create_service(session, principal=RESPONDER, entry=entry)
    assert refused.value.field == field


def test_roles_responder_writes_services_approver_writes_teams(db: Database) -> None:
    with pytest.raises(Forbidden), db.write() as session:
        catalog.create_service(session, principal=VIEWER, entry=ServiceEntry(name="p"))
    with pytest.raises(Forbidden), db.write() as session:
        teams.create_team(session, principal=RESPONDER, entry=TeamEntry(name="t"))
    with db.write() as session:
        catalog.create_service(session, principal=RESPONDER, entry=ServiceEntry(name="p"))


def test_a_team_that_owns_services_cannot_be_deleted(db: Database) -> None:
    with db.write() as session:
        teams.create_team(session, principal=SYSTEM, entry=TeamEntry(name="team-a"))
        for name in ("search", "payments"):
            entry = ServiceEntry(name=name, owner_team="team-a")
            catalog.create_service(session, principal=SYSTEM, entry=entry)
    before = audit_count(db)
    with pytest.raises(Conflict) as refused, db.write() as session:
        teams.delete_team(session, principal=SYSTEM, name="team-a")
    assert refused.value.status == 409
    assert "payments, search" in refused.value.message
    assert audit_count(db) == before
    with db.write() as session:
        for name in ("search", "payments"):
            catalog.update_service(
                session, principal=SYSTEM, name=name, changes={"owner_team": None}
            )
        teams.delete_team(session, principal=SYSTEM, name="team-a")
        assert teams.find_team(session, name="team-a") is None
        assert catalog.get_service(session, name="payments").owner_team is None


def test_a_service_used_by_slos_cannot_be_deleted(db: Database) -> None:
    make_slo(db, "checkout")
    with pytest.raises(Conflict) as refused, db.write() as session:
        usage.delete_service(session, principal=SYSTEM, name="checkout")
    assert "checkout/availability" in refused.value.message
    with db.write() as session:
        slo_service.delete_slo(session, principal=SYSTEM, ref="checkout/availability")
        usage.delete_service(session, principal=SYSTEM, name="checkout")
        assert catalog.find_service(session, name="checkout") is None


def test_members_need_an_opsloop_user(db: Database) -> None:
    make_user(db, "alice", Role.viewer)
    with db.write() as session:
        teams.create_team(session, principal=SYSTEM, entry=TeamEntry(name="t"))
        teams.set_member(session, principal=SYSTEM, team="t", username="alice", role="lead")
        with pytest.raises(ValidationFailed) as refused:
            teams.set_member(session, principal=SYSTEM, team="t", username="bob", role="member")
    assert refused.value.field == "username"
    with db.read() as session:
        assert teams.get_team(session, name="t").members == {"alice": "lead"}


def test_a_changed_implicit_service_becomes_explicit_and_unchanged_writes_nothing(
    db: Database,
) -> None:
    make_slo(db, "checkout")
    with db.write() as session:
        outcome = catalog.put_service(
            session, principal=SYSTEM, entry=ServiceEntry(name="checkout", tier=2)
        )
    assert outcome == "updated"
    before = audit_count(db)
    with db.write() as session:
        again = catalog.put_service(
            session, principal=SYSTEM, entry=ServiceEntry(name="checkout", tier=2)
        )
        found = catalog.get_service(session, name="checkout")
    assert again == "unchanged" and audit_count(db) == before
    assert (found.origin, found.tier) == ("explicit", 2)


def test_service_names_are_the_listed_services_in_name_order(db: Database) -> None:
    for service in ("search", "checkout", "billing"):
        make_slo(db, service)
    with db.read() as session:
        names = catalog.service_names(session)
        assert names == [s.name for s in catalog.list_services(session, offset=0)]
    assert names == ["billing", "checkout", "search"]
