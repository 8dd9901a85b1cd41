"""Reading catalog files without a database: Backstage, OpenSLO and opsloop documents, what
is skipped and reported, and where problems are."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsloop.services.backstage import entity_name
from opsloop.services.documents import CatalogFileError, parse_catalog
from opsloop.services.entries import Link

FIXTURES = Path(__file__).parent / "fixtures"
COMPONENT = """
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {{name: payments}}
spec: {{type: service, lifecycle: {lifecycle}, owner: team-a}}
"""


def test_backstage_components_and_groups() -> None:
    plan = parse_catalog((FIXTURES / "catalog-info.yaml").read_text())
    team = plan.teams[0]
    assert team.lenient and team.entry.name == "team-payments"
    assert team.entry.display_name == "Payments" and team.entry.email == "payments@example.com"
    assert dict(team.entry.members) == {"alice": "member", "bob": "member", "carol": "member"}
    assert "chat_channel" not in team.entry.fields
    api, web, ledger = (s.entry for s in plan.services)
    assert (api.name, api.display_name, api.owner_team, api.lifecycle) == (
        "payments-api",
        "Payments API",
        "team-payments",
        "production",
    )
    assert api.links == (
        Link("Dashboard", "https://dashboard.example.com/payments"),
        Link("runbook", "https://wiki.example.com/payments/runbook"),
    )
    assert dict(api.labels) == {
        "github.com/project-slug": "example/payments-api",
        "backstage.io/techdocs-ref": "dir:.",
        "language": "go",
        "tags": "java,payments",
        "type": "service",
    }
    assert "tier" not in api.fields
    assert (web.owner_team, web.lifecycle, web.labels["type"]) == (
        "team-web",
        "experimental",
        "website",
    )
    assert ledger.owner_team is None and "lifecycle" not in ledger.fields
    assert plan.skipped == [
        "document 5 (API payments-v1): kind API is not kept in the catalog",
        "document 6 (System payments): kind System is not kept in the catalog",
    ]
    assert any("user:dave is not a group" in note for note in plan.notes)
    assert any("beta is not one of" in note for note in plan.notes)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("group:team-a", ("group", "team-a")),
        ("group:default/team-a", ("group", "team-a")),
        ("team-a", ("", "team-a")),
        ("user:default/alice", ("user", "alice")),
    ],
)
def test_entity_references(ref: str, expected: tuple[str, str]) -> None:
    assert entity_name(ref) == expected


def test_opsloop_and_openslo_documents() -> None:
    plan = parse_catalog((FIXTURES / "catalog.yaml").read_text())
    (team,) = plan.teams
    assert not team.lenient
    assert dict(team.entry.members) == {"alice": "lead", "bob": "member"}
    search, checkout = (s.entry for s in plan.services)
    assert (search.tier, search.owner_team, dict(search.labels)) == (
        2,
        "team-search",
        {"language": "rust"},
    )
    assert checkout.fields == {"display_name", "description"}
    assert plan.skipped == ["document 4 (SLO availability): kind SLO is not kept in the catalog"]


def test_problems_name_the_document_and_the_field() -> None:
    text = COMPONENT.format(lifecycle="[1]") + "---\n" + COMPONENT.format(lifecycle="production")
    with pytest.raises(CatalogFileError) as refused:
        parse_catalog(text)
    message = str(refused.value)
    assert message.startswith("document 1 (Component payments): spec.lifecycle: expected a string")
    twice = (
        COMPONENT.format(lifecycle="production") * 1
        + "---\n"
        + COMPONENT.format(lifecycle="production")
    )
    with pytest.raises(CatalogFileError) as duplicate:
        parse_catalog(twice)
    assert str(duplicate.value) == (
        "document 2 (Component payments): metadata.name: service payments is also in "
        "document 1 (Component payments)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "apiVersion: opsloop.dev/v1\nkind: Service\nmetadata: {name: p}\nspec: {tier: 9}\n",
            "document 1 (Service p): spec.tier: must be 1, 2, 3 or 4",
        ),
        (
            "apiVersion: opsloop.dev/v1\nkind: Service\nmetadata: {name: p}\n"
            "spec: {links: [{name: r, url: 'ftp://x'}]}\n",
            "document 1 (Service p): spec.links[0].url: must be an http:// or https:// URL",
        ),
        (
            "apiVersion: opsloop.dev/v1\nkind: Service\nmetadata: {name: p}\nspec: {colour: red}\n",
            "document 1 (Service p): spec.colour: unknown field",
        ),
        ("apiVersion: v9\nkind: Service\n", "document 1 (Service): apiVersion: expected"),
        ("- a\n- b\n", "document 1: expected a mapping"),
        ("kind: Service\nmetadata: {name: [\n", "line 3, column 1: invalid YAML"),
    ],
)
def test_refusals(text: str, expected: str) -> None:
    with pytest.raises(CatalogFileError) as refused:
        parse_catalog(text)
    assert str(refused.value).startswith(expected), str(refused.value)


def test_deep_nesting_is_refused_before_parsing() -> None:
    with pytest.raises(CatalogFileError) as refused:
        parse_catalog("a: " + "[" * 200 + "]" * 200)
    assert "nested deeper than" in str(refused.value)
