"""The catalog API: roles, refusals naming the field, paging and filters, apply and export,
and a service's budget state. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.slo import evaluation
from tests.helpers import bearer
from tests.services.helpers import audit_count, make_slo

FIXTURES = Path(__file__).parent / "fixtures"
YAML = {"content-type": "application/yaml"}


def _as(tokens: dict[Role, str], role: Role) -> dict[str, str]:
    return bearer(tokens[role])


def _team(client: TestClient, tokens: dict[Role, str], name: str = "team-a") -> None:
    created = client.post("/api/v1/teams", json={"name": name}, headers=_as(tokens, Role.approver))
    assert created.status_code == 201, created.text


def test_viewer_reads_responder_writes_services_approver_writes_teams(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    viewer, responder = _as(tokens, Role.viewer), _as(tokens, Role.responder)
    before = audit_count(db)
    assert client.post("/api/v1/services", json={"name": "p"}, headers=viewer).status_code == 403
    assert client.post("/api/v1/teams", json={"name": "t"}, headers=responder).status_code == 403
    assert (
        client.post("/api/v1/services/apply", content="", headers={**viewer, **YAML}).status_code
        == 403
    )
    assert audit_count(db) == before
    _team(client, tokens)
    created = client.post(
        "/api/v1/services",
        json={
            "name": "payments",
            "owner_team": "team-a",
            "tier": 1,
            "links": [{"name": "repository", "url": "https://git.example.com/payments"}],
        },
        headers=responder,
    )
    assert created.status_code == 201, created.text
    body = client.get("/api/v1/services/payments", headers=viewer).json()
    assert (body["owner_team"], body["tier"], body["origin"]) == ("team-a", 1, "explicit")
    assert body["tier_meaning"].startswith("customer-facing")
    assert (
        client.patch("/api/v1/services/payments", json={"tier": 2}, headers=viewer).status_code
        == 403
    )
    patched = client.patch(
        "/api/v1/services/payments", json={"owner_team": None, "tier": 2}, headers=responder
    )
    assert (patched.json()["owner_team"], patched.json()["tier"]) == (None, 2)
    assert client.delete("/api/v1/services/payments", headers=viewer).status_code == 403
    assert client.delete("/api/v1/services/payments", headers=responder).status_code == 204


def test_unknown_owner_team_is_422_naming_owner_team_and_writes_nothing(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    before = audit_count(db)
    refused = client.post(
        "/api/v1/services",
        json={"name": "payments", "owner_team": "ghosts"},
        headers=_as(tokens, Role.responder),
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "owner_team"
    assert audit_count(db) == before
    assert client.get("/api/v1/services", headers=_as(tokens, Role.viewer)).json()["items"] == []


def test_bad_links_are_named(client: TestClient, tokens: dict[Role, str]) -> None:
    refused = client.post(
        "/api/v1/services",
        json={"name": "p", "links": [{"name": "repo", "url": "javascript:alert(1)"}]},
        headers=_as(tokens, Role.responder),
    )
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "links[0].url"


def test_deleting_what_is_in_use_is_409(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    make_slo(db, "checkout")
    _team(client, tokens)
    client.patch(
        "/api/v1/services/checkout",
        json={"owner_team": "team-a"},
        headers=_as(tokens, Role.responder),
    )
    team = client.delete("/api/v1/teams/team-a", headers=_as(tokens, Role.approver))
    assert team.status_code == 409 and "checkout" in team.json()["error"]["message"]
    service = client.delete("/api/v1/services/checkout", headers=_as(tokens, Role.responder))
    assert service.status_code == 409
    assert "checkout/availability" in service.json()["error"]["message"]


def test_list_pages_and_filters(client: TestClient, tokens: dict[Role, str]) -> None:
    _team(client, tokens)
    responder, viewer = _as(tokens, Role.responder), _as(tokens, Role.viewer)
    for name, tier, owner in (("alpha", 1, "team-a"), ("beta", 2, None), ("gamma", 1, None)):
        body = {"name": name, "tier": tier, "owner_team": owner, "description": f"the {name} one"}
        assert client.post("/api/v1/services", json=body, headers=responder).status_code == 201

    def names(query: str) -> list[str]:
        page = client.get(f"/api/v1/services?{query}", headers=viewer)
        assert page.status_code == 200, page.text
        return [s["name"] for s in page.json()["items"]]

    assert names("tier=1") == ["alpha", "gamma"]
    assert names("team=team-a") == ["alpha"]
    assert names("unowned=true") == ["beta", "gamma"]
    assert names("q=GAMMA") == ["gamma"]
    assert names("lifecycle=deprecated") == []
    first = client.get("/api/v1/services?limit=2", headers=viewer).json()
    assert [s["name"] for s in first["items"]] == ["alpha", "beta"]
    assert names(f"limit=2&cursor={first['next_cursor']}") == ["gamma"]
    assert client.get("/api/v1/services?tier=7", headers=viewer).status_code == 422
    team = client.get("/api/v1/teams/team-a", headers=viewer).json()
    assert team["services"] == ["alpha"]


def test_apply_export_and_syntax_errors(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    approver = {**_as(tokens, Role.approver), **YAML}
    text = (FIXTURES / "catalog-info.yaml").read_text()
    first = client.post("/api/v1/services/apply", content=text, headers=approver)
    assert first.status_code == 201, first.text
    assert first.json()["created"] == 5 and len(first.json()["skipped"]) >= 2
    before = audit_count(db)
    again = client.post("/api/v1/services/apply", content=text, headers=approver)
    assert again.status_code == 200 and again.json()["unchanged"] == 4  # the team exists now
    assert audit_count(db) == before
    exported = client.get("/api/v1/services/export", headers=_as(tokens, Role.viewer))
    assert exported.headers["content-type"].startswith("application/yaml")
    back = client.post("/api/v1/services/apply", content=exported.text, headers=approver)
    assert back.status_code == 200 and back.json()["created"] == back.json()["updated"] == 0
    broken = client.post(
        "/api/v1/services/apply", content="kind: Service\nmetadata: {name: [\n", headers=approver
    )
    assert broken.status_code == 422
    assert "line 3, column 1" in broken.json()["error"]["message"]
    wrong_type = client.post(
        "/api/v1/services/apply", content=text, headers={**_as(tokens, Role.approver)}
    )
    assert wrong_type.status_code == 415
    assert audit_count(db) == before


def test_team_members(client: TestClient, tokens: dict[Role, str]) -> None:
    _team(client, tokens)
    approver = _as(tokens, Role.approver)
    added = client.post(
        "/api/v1/teams/team-a/members",
        json={"username": "viewer", "role": "lead"},
        headers=approver,
    )
    assert added.json()["members"] == [{"username": "viewer", "role": "lead"}]
    unknown = client.post(
        "/api/v1/teams/team-a/members", json={"username": "nobody"}, headers=approver
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "username"
    removed = client.delete("/api/v1/teams/team-a/members/viewer", headers=approver)
    assert removed.status_code == 200 and removed.json()["members"] == []
    patched = client.patch("/api/v1/teams/team-a", json={"email": "not-an-email"}, headers=approver)
    assert patched.status_code == 422 and patched.json()["error"]["field"] == "email"


def test_budget_state_lists_the_slos_of_the_service(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    make_slo(db, "checkout")
    make_slo(db, "checkout", "latency")
    evaluation.evaluate(db, now=evaluation_now())
    viewer = _as(tokens, Role.viewer)
    state = client.get("/api/v1/services/checkout/budget-state", headers=viewer)
    assert state.status_code == 200, state.text
    body = state.json()
    assert [s["name"] for s in body["slos"]] == ["availability", "latency"]
    assert body["blocks_changes"] is False and body["owner_team"] is None
    assert client.get("/api/v1/services/nope/budget-state", headers=viewer).status_code == 404


def evaluation_now():  # type: ignore[no-untyped-def]
    from opsloop.core import clock

    return clock.now()


def test_an_slo_created_through_the_api_names_an_implicit_service(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    created = client.post(
        "/api/v1/slos",
        json={"service": "search", "name": "availability", "objective": 99.5},
        headers=_as(tokens, Role.approver),
    )
    assert created.status_code == 201, created.text
    found = client.get("/api/v1/services/search", headers=_as(tokens, Role.viewer)).json()
    assert (found["origin"], found["origin_source"], found["owner_team"]) == (
        "implicit",
        "slo",
        None,
    )
    unowned = client.get("/api/v1/services?unowned=true", headers=_as(tokens, Role.viewer))
    assert [s["name"] for s in unowned.json()["items"]] == ["search"]


def test_the_catalogs_own_paths_are_not_service_names(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    refused = client.post(
        "/api/v1/services", json={"name": "export"}, headers=_as(tokens, Role.responder)
    )
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "name"
    exported = client.get("/api/v1/services/export", headers=_as(tokens, Role.viewer))
    assert exported.status_code == 200 and exported.text == ""
    allowed = client.options("/api/v1/services/apply", headers=_as(tokens, Role.viewer))
    assert allowed.headers["allow"] == "OPTIONS, POST"
