"""The catalog pages: they render for every signed-in role, responders create and edit
services from the form, approvers teams, viewers are refused, and bad input comes back as the
form with the message. SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.services import service as catalog
from opsloop.services import teams
from tests.services.helpers import audit_count, make_slo
from tests.web.pages import csrf_of, is_html, sign_in


def test_pages_render_with_owner_tier_slos_and_team(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    make_slo(db, "checkout")
    csrf = sign_in(client, "approver")
    created = client.post(
        "/teams/new",
        data={
            "name": "team-a",
            "email": "a@example.com",
            "members": "viewer lead",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    sign_in(client, "viewer")
    listing = client.get("/services")
    assert listing.status_code == 200 and is_html(listing)
    assert 'href="/services/checkout"' in listing.text and "unowned" in listing.text
    assert 'href="/services/new"' not in listing.text
    assert 'href="/services"' in client.get("/").text  # the navigation
    page = client.get("/services/checkout")
    assert page.status_code == 200
    assert 'data-testid="owner">unowned' in page.text
    assert 'href="/slos/1"' in page.text
    team = client.get("/teams/team-a")
    assert team.status_code == 200 and "a@example.com" in team.text and "viewer" in team.text
    assert client.get("/teams").status_code == 200
    assert client.get("/services/nope").status_code == 404
    filtered = client.get("/services?tier=9")
    assert filtered.status_code == 422 and "tier" in filtered.text


def test_a_responder_creates_and_edits_a_service(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, "responder")
    form = client.get("/services/new")
    assert form.status_code == 200 and csrf_of(form.text) == csrf
    response = client.post(
        "/services/new",
        data={
            "name": "payments",
            "tier": "1",
            "lifecycle": "production",
            "links": "repository https://git.example.com/payments",
            "labels": "language=go",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/services/payments"
    page = client.get("/services/payments")
    assert "customer-facing" in page.text and "https://git.example.com/payments" in page.text
    edited = client.post(
        "/services/payments/edit",
        data={"tier": "3", "lifecycle": "deprecated", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    with db.read() as session:
        found = catalog.get_service(session, name="payments")
    assert (found.tier, found.lifecycle, found.links) == (3, "deprecated", ())


def test_bad_input_comes_back_on_the_form_and_writes_nothing(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, "responder")
    before = audit_count(db)
    refused = client.post(
        "/services/new",
        data={"name": "payments", "links": "repo ftp://x.example", "csrf_token": csrf},
    )
    assert refused.status_code == 422 and is_html(refused)
    assert 'data-field="links[0].url"' in refused.text
    assert 'value="payments"' in refused.text  # the form keeps what was typed
    unknown_team = client.post(
        "/services/new", data={"name": "payments", "owner_team": "ghosts", "csrf_token": csrf}
    )
    assert unknown_team.status_code == 422 and 'data-field="owner_team"' in unknown_team.text
    assert audit_count(db) == before


def test_viewers_are_refused_and_forms_need_the_csrf_token(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, "viewer")
    assert client.get("/services/new").status_code == 403
    refused = client.post("/services/new", data={"name": "payments", "csrf_token": csrf})
    assert refused.status_code == 403
    csrf = sign_in(client, "responder")
    assert client.get("/teams/new").status_code == 403
    forged = client.post("/services/new", data={"name": "payments", "csrf_token": "forged"})
    assert forged.status_code == 403
    with db.read() as session:
        assert catalog.list_services(session) == [] and teams.list_teams(session) == []


def test_an_approver_edits_a_team_and_bad_members_are_named(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, "approver")
    client.post("/teams/new", data={"name": "team-a", "csrf_token": csrf})
    assert client.get("/teams/team-a/edit").status_code == 200
    refused = client.post("/teams/team-a/edit", data={"members": "nobody lead", "csrf_token": csrf})
    assert refused.status_code == 422 and 'data-field="members"' in refused.text
    saved = client.post(
        "/teams/team-a/edit",
        data={
            "chat_channel": "#team-a",
            "members": "responder lead\nviewer member",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with db.read() as session:
        found = teams.get_team(session, name="team-a")
    assert (found.chat_channel, found.members) == (
        "#team-a",
        {"responder": "lead", "viewer": "member"},
    )
