"""The web UI applies the API's roles, checks CSRF on every write, and answers a browser with
HTML pages (never JSON). Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient

from opsloop.core.audit import service as audit
from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.db import Database
from tests.helpers import bearer
from tests.web.pages import PASSWORD, csrf_of, is_html, sign_in


def _audit_count(db: Database) -> int:
    with db.read() as session:
        return audit.count(session)


@pytest.mark.parametrize("role", list(Role))
def test_the_audit_trail_is_visible_in_the_web_exactly_when_the_api_allows_it(
    client: TestClient, tokens: dict[Role, str], role: Role
) -> None:
    api = client.get("/api/v1/audit", headers=bearer(tokens[role]))
    sign_in(client, role.value)
    allowed = api.status_code == 200
    assert allowed == role.allows(Role.approver)

    overview = client.get("/").text
    for path in ["/audit", "/audit/verify", "/audit?actor=admin"]:
        page = client.get(path)
        assert page.status_code == (200 if allowed else 403), path
        assert is_html(page)
    assert ('href="/audit"' in overview) == allowed
    assert ('data-testid="activity"' in overview) == allowed
    assert ('data-testid="chain-status"' in overview) == allowed
    if not allowed:
        refused = client.get("/audit")
        assert "this needs the approver role; you have" in refused.text
        assert "auth.login" not in refused.text


@pytest.mark.parametrize("role", [Role.viewer, Role.responder, Role.approver])
def test_below_admin_there_is_no_user_control_and_posts_are_refused(
    client: TestClient, db: Database, tokens: dict[Role, str], role: Role
) -> None:
    csrf = sign_in(client, role.value)
    overview = client.get("/").text
    assert 'href="/users"' not in overview
    assert client.get("/users").status_code == 403
    before = _audit_count(db)

    posts = [
        ("/users", {"username": "mallory", "role": "admin", "password": "x" * 12}),
        ("/users/viewer", {"role": "admin"}),
        ("/tokens", {"user": "admin", "role": "admin"}),
        ("/tokens/1/revoke", {}),
    ]
    for path, data in posts:
        response = client.post(path, data={**data, "csrf_token": csrf}, follow_redirects=False)
        assert response.status_code == 403, path
        assert is_html(response)
        assert "this needs the admin role" in response.text
    assert _audit_count(db) == before
    with db.read() as session:
        assert auth.get_user(session, username="viewer").role == "viewer"


def test_a_write_without_the_csrf_token_gets_the_styled_403_page_and_changes_nothing(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, "admin")
    before = _audit_count(db)

    for sent in [{}, {"csrf_token": "forged"}]:
        response = client.post(
            "/users", data={"username": "newbie", "role": "viewer", **sent}, follow_redirects=False
        )
        assert response.status_code == 403
        assert is_html(response)
        assert 'data-testid="error-page"' in response.text
        assert "The form was stale or not sent by opsloop" in response.text
        assert '<link rel="stylesheet"' in response.text  # the styled layout, not a bare <h1>
    # htmx sends the token as a header instead of a form field.
    by_header = client.post(
        "/users",
        data={"username": "newbie", "role": "viewer"},
        headers={"X-CSRF-Token": csrf},
        follow_redirects=False,
    )
    assert by_header.status_code == 303
    assert _audit_count(db) == before + 1


def test_admin_manages_users_and_tokens_through_the_service(
    client: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, "admin")
    page = client.get("/users")
    assert page.status_code == 200
    assert 'action="/users"' in page.text and 'action="/tokens"' in page.text

    created = client.post(
        "/users",
        data={"username": "newbie", "role": "responder", "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert created.status_code == 303
    promoted = client.post(
        "/users/newbie", data={"role": "approver", "csrf_token": csrf}, follow_redirects=False
    )
    assert promoted.status_code == 303
    token_page = client.post(
        "/tokens",
        data={"user": "newbie", "role": "approver", "name": "ci", "csrf_token": csrf},
    )
    assert token_page.status_code == 201
    plaintext = token_page.text.split('data-testid="token-plaintext">')[1].split("<")[0]
    assert client.get("/api/v1/audit", headers=bearer(plaintext)).status_code == 200
    # Shown once: the next view of the page lists the token without it.
    assert plaintext not in client.get("/users").text

    with db.read() as session:
        token_id = next(
            t.id for t, _ in auth.list_tokens(session, principal=SYSTEM, username="newbie")
        )
    revoked = client.post(
        f"/tokens/{token_id}/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert client.get("/api/v1/audit", headers=bearer(plaintext)).status_code == 401
    disabled = client.post(
        "/users/newbie", data={"disabled": "true", "csrf_token": csrf}, follow_redirects=False
    )
    assert disabled.status_code == 303
    with db.read() as session:
        user = auth.get_user(session, username="newbie")
        assert (user.role, user.disabled) == ("approver", True)
        actions = [r.action for r in audit.page(session, flt=audit.AuditFilter(actor="admin"))[0]]
    assert actions[-5:] == [
        "user.create",
        "user.update",
        "token.create",
        "token.revoke",
        "user.update",
    ]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "Bad Name", "role": "viewer"}, "username", "username must be 1-64"),
        ({"username": "admin", "role": "viewer"}, "username", "already exists"),
        ({"username": "ok", "role": "boss"}, "role", "unknown role 'boss'"),
        ({"username": "ok", "role": "viewer", "password": "short"}, "password", "at least 10"),
    ],
)
def test_bad_user_input_comes_back_in_the_form_with_the_field(
    client: TestClient,
    db: Database,
    tokens: dict[Role, str],
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    csrf = sign_in(client, "admin")
    before = _audit_count(db)

    response = client.post("/users", data={**data, "csrf_token": csrf})

    assert response.status_code in (409, 422)
    assert f'data-field="{field}"' in response.text
    assert message in html.unescape(response.text)
    assert f'value="{data["username"]}"' in response.text  # what was typed stays
    assert _audit_count(db) == before


def test_everyone_may_change_their_own_password_with_the_current_one(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, "viewer")
    new = "a brand new passphrase"

    wrong = client.post(
        "/account/password",
        data={"current": "nope", "password": new, "confirm": new, "csrf_token": csrf},
    )
    mismatch = client.post(
        "/account/password",
        data={"current": PASSWORD, "password": new, "confirm": new + "!", "csrf_token": csrf},
    )
    no_csrf = client.post(
        "/account/password", data={"current": PASSWORD, "password": new, "confirm": new}
    )
    assert (wrong.status_code, mismatch.status_code, no_csrf.status_code) == (422, 422, 403)
    assert 'data-field="current"' in wrong.text
    assert 'data-field="confirm"' in mismatch.text

    done = client.post(
        "/account/password",
        data={"current": PASSWORD, "password": new, "confirm": new, "csrf_token": csrf},
    )
    assert done.status_code == 200 and "Your password was changed" in done.text
    sign_in(client, "viewer", new)


@pytest.mark.parametrize(
    ("method", "path", "status", "text"),
    [
        ("get", "/slos/abc", 422, "slo_id: Input should be a valid integer"),
        ("get", "/slos/0", 422, "slo_id"),
        ("get", "/slos/99999", 404, "no SLO 99999"),
        ("get", "/no/such/page", 404, "There is no page at this address."),
        ("get", "/no-such-page", 404, "Not found"),
        ("post", "/slos", 405, "Method not allowed"),
        ("get", "/audit?before=x", 422, "before"),
        ("get", "/audit?since=yesterday", 422, "since must be a date and time"),
        ("get", "/audit/verify?anchor=12", 422, "anchor must look like SEQ:HASH"),
    ],
)
def test_browser_routes_answer_errors_with_html_pages(
    client: TestClient, tokens: dict[Role, str], method: str, path: str, status: int, text: str
) -> None:
    sign_in(client, "admin")

    response = client.request(method.upper(), path)

    assert response.status_code == status
    assert is_html(response)
    assert '{"error"' not in response.text
    assert text in html.unescape(response.text)
    assert 'data-testid="who"' in response.text  # still inside the signed-in layout


def test_api_routes_keep_json_errors(client: TestClient, tokens: dict[Role, str]) -> None:
    headers = bearer(tokens[Role.admin])
    # /slos/abc matches no route: ids are typed in the path.
    for path, status in [("/api/v1/slos/abc", 404), ("/api/v1/nope", 404), ("/api/v1/slos/9", 404)]:
        response = client.get(path, headers=headers)
        assert response.status_code == status
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["code"]


def test_the_favicon_is_served_and_linked(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg")
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/login").text
    assert client.get("/static/favicon.svg").status_code == 200


def test_signed_in_pages_are_not_kept_in_the_browser_cache(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    sign_in(client, "viewer")
    for path in ["/", "/slos", "/account"]:
        assert client.get(path).headers["cache-control"] == "no-store"
    assert csrf_of(client.get("/").text)
