"""Applying catalog files: all or nothing, idempotent, audited, and exported files re-apply
with no change. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsloop.core.auth.roles import SYSTEM, Principal, Role
from opsloop.core.db import Database
from opsloop.core.errors import Forbidden, ValidationFailed
from opsloop.services import service as catalog
from opsloop.services import teams
from opsloop.services.catalog_files import ApplySummary, apply_catalog, export_catalog
from opsloop.services.entries import ServiceEntry
from tests.helpers import make_user
from tests.services.helpers import audit_count, make_slo

FIXTURES = Path(__file__).parent / "fixtures"
BACKSTAGE = (FIXTURES / "catalog-info.yaml").read_text()
OPSLOOP = (FIXTURES / "catalog.yaml").read_text()
RESPONDER = Principal(actor="responder", role=Role.responder)


def apply(db: Database, text: str, principal: Principal = SYSTEM) -> ApplySummary:
    with db.write() as session:
        return apply_catalog(session, principal=principal, text=text, source="test.yaml")


def outcomes(summary: ApplySummary) -> dict[str, str]:
    return {f"{a.kind}/{a.name}": a.outcome for a in summary.applied}


@pytest.fixture
def users(db: Database) -> None:
    for name in ("alice", "bob", "carol"):
        make_user(db, name, Role.viewer)


def test_a_backstage_catalog_is_imported(db: Database) -> None:
    make_user(db, "alice", Role.viewer)
    make_user(db, "carol", Role.viewer)
    summary = apply(db, BACKSTAGE)
    assert outcomes(summary) == {
        "team/team-payments": "created",
        "team/team-web": "created",
        "service/payments-api": "created",
        "service/checkout-web": "created",
        "service/ledger": "created",
    }
    assert [a.name for a in summary.applied if a.implicit] == ["team-web"]
    assert any("bob has no opsloop user" in line for line in summary.skipped)
    assert any("kind API" in line for line in summary.skipped)
    with db.read() as session:
        payments = teams.get_team(session, name="team-payments")
        web = teams.get_team(session, name="team-web")
        api = catalog.get_service(session, name="payments-api")
        ledger = catalog.get_service(session, name="ledger")
    assert payments.members == {"alice": "member", "carol": "member"}
    assert (web.origin, web.members) == ("implicit", {})
    assert (api.owner_team, api.origin, api.tier) == ("team-payments", "explicit", None)
    assert (ledger.owner_team, ledger.lifecycle) == (None, "production")


def test_reapplying_changes_nothing_and_writes_no_audit_record(db: Database, users: None) -> None:
    apply(db, BACKSTAGE)
    apply(db, OPSLOOP)
    before = audit_count(db)
    again = apply(db, BACKSTAGE)
    assert set(outcomes(again).values()) == {"unchanged"} and not again.changed
    assert set(outcomes(apply(db, OPSLOOP)).values()) == {"unchanged"}
    assert audit_count(db) == before


def test_a_bad_third_document_leaves_nothing(db: Database, users: None) -> None:
    before = audit_count(db)
    bad = OPSLOOP.replace(
        "kind: Service\nmetadata:\n  name: checkout", "kind: Service\nmetadata:\n  name: Checkout"
    )
    with pytest.raises(ValidationFailed) as refused:
        apply(db, bad)
    assert "document 3 (Service Checkout): metadata.name" in refused.value.message
    assert refused.value.field == "metadata.name"
    assert audit_count(db) == before
    with db.read() as session:
        assert catalog.list_services(session) == [] and teams.list_teams(session) == []


def test_an_opsloop_team_member_needs_a_user(db: Database) -> None:
    make_user(db, "alice", Role.viewer)
    with pytest.raises(ValidationFailed) as refused:
        apply(db, OPSLOOP)
    assert "no opsloop user named 'bob'" in refused.value.message
    with db.read() as session:
        assert teams.list_teams(session) == []


def test_openslo_services_set_only_their_fields(db: Database, users: None) -> None:
    make_slo(db, "checkout")
    with db.write() as session:
        catalog.put_service(session, principal=SYSTEM, entry=ServiceEntry(name="checkout", tier=1))
    apply(db, OPSLOOP)
    with db.read() as session:
        checkout = catalog.get_service(session, name="checkout")
    assert (checkout.display_name, checkout.description, checkout.tier) == (
        "Checkout",
        "The checkout flow",
        1,
    )


def test_teams_in_a_file_need_an_approver(db: Database, users: None) -> None:
    with pytest.raises(Forbidden):
        apply(db, OPSLOOP, principal=RESPONDER)
    services_only = "---".join(part for part in OPSLOOP.split("---") if "kind: Team" not in part)
    summary = apply(db, services_only, principal=RESPONDER)
    assert outcomes(summary)["team/team-search"] == "created"  # the owner, implicitly


@pytest.mark.parametrize("fmt", ["opsloop", "backstage"])
def test_the_exported_catalog_reapplies_with_no_change(db: Database, users: None, fmt: str) -> None:
    apply(db, BACKSTAGE)
    apply(db, OPSLOOP)
    make_slo(db, "implicit-one")
    with db.read() as session:
        text = export_catalog(session, fmt=fmt)
    before = audit_count(db)
    summary = apply(db, text)
    if fmt == "opsloop":
        assert set(outcomes(summary).values()) == {"unchanged"}
        assert audit_count(db) == before
    assert "service/implicit-one" in outcomes(summary)
    with db.read() as session:
        assert export_catalog(session, fmt=fmt) == text


def test_an_unknown_export_format_is_refused(db: Database) -> None:
    with pytest.raises(ValidationFailed) as refused, db.read() as session:
        export_catalog(session, fmt="csv")
    assert refused.value.field == "format"


@pytest.mark.parametrize("text", ["", "null\n", "apiVersion: backstage.io/v1alpha1\nkind: API\n"])
def test_a_file_without_services_or_teams_is_refused(db: Database, text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        apply(db, text)
    assert "holds no service or team" in refused.value.message
