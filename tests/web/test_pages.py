"""The server-rendered pages: sign-in, CSRF, sessions, the overview and the audit trail.

Each test runs on SQLite and on PostgreSQL through the ``client`` fixture.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opsloop.core.audit import service as audit
from opsloop.core.auth import service as auth
from opsloop.core.auth.models import WebSession
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.clock import FrozenClock
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.web.routes import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from tests.helpers import make_user

PASSWORD = "correct horse battery"
HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _hidden_csrf(page: str) -> str:
    found = HIDDEN_CSRF.search(page)
    assert found, "no csrf_token field on the page"
    return html.unescape(found.group(1))


def _login_form_token(client: TestClient, next: str = "/") -> str:
    response = client.get("/login", params={"next": next})
    assert response.status_code == 200
    return _hidden_csrf(response.text)


def _login(
    client: TestClient, username: str = "dana", password: str = PASSWORD, next: str = "/"
) -> str:
    """Signs in through the form; returns the session cookie value."""
    token = _login_form_token(client, next)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    return cookie


def _set_cookies(response_headers: list[str]) -> dict[str, SimpleCookie]:
    out = {}
    for header in response_headers:
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        for name in parsed:
            out[name] = parsed
    return out


def _stays_on_site(location: str) -> bool:
    # Browsers drop tabs and newlines from a URL and read a backslash as a slash, so "/\\host"
    # or "/<tab>/host" would leave the site just like "//host".
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    parts = urlsplit(cleaned)
    return cleaned.startswith("/") and not parts.scheme and not parts.netloc


def _audit_count(db: Database) -> int:
    with db.read() as session:
        return audit.count(session)


def _session_count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(WebSession)) or 0


def _assert_login_redirect(response: httpx.Response, next: str = "/") -> None:
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={next}"


@pytest.fixture
def dana(db: Database) -> str:
    make_user(db, "dana", Role.responder, password=PASSWORD)
    return "dana"


def test_login_page_renders_and_sets_csrf_cookie(client: TestClient) -> None:
    response = client.get("/login")

    assert response.status_code == 200
    assert "<h1>Sign in</h1>" in response.text
    cookie = client.cookies.get(LOGIN_CSRF_COOKIE)
    assert cookie and len(cookie) >= 32
    assert _hidden_csrf(response.text) == cookie
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=strict" in set_cookie
    # No navigation for someone who is not signed in.
    assert 'data-testid="who"' not in response.text
    assert 'action="/logout"' not in response.text


def test_login_page_keeps_its_csrf_token_across_reloads(client: TestClient) -> None:
    first = _login_form_token(client)
    assert _login_form_token(client) == first


@pytest.mark.parametrize(
    ("cookie", "field"),
    [
        (None, None),  # neither
        (None, "forged"),  # a field but no cookie
        ("real", None),  # a cookie but no field
        ("real", "forged"),  # both, not matching
    ],
)
def test_login_without_valid_csrf_is_refused_and_writes_nothing(
    client: TestClient, db: Database, dana: str, cookie: str | None, field: str | None
) -> None:
    if cookie:
        _login_form_token(client)
        assert client.cookies.get(LOGIN_CSRF_COOKIE)
    data = {"username": dana, "password": PASSWORD, "next": "/"}
    if field:
        data["csrf_token"] = field
    audit_before = _audit_count(db)

    response = client.post("/login", data=data, follow_redirects=False)

    assert response.status_code == 403
    assert "stale" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert client.cookies.get(SESSION_COOKIE) is None
    assert _session_count(db) == 0
    assert _audit_count(db) == audit_before


@pytest.mark.parametrize(("username", "password"), [("dana", "wrong"), ("nobody", PASSWORD)])
def test_wrong_credentials_get_401_with_the_message_and_no_cookie(
    client: TestClient, db: Database, dana: str, username: str, password: str
) -> None:
    token = _login_form_token(client)
    audit_before = _audit_count(db)

    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )

    assert response.status_code == 401
    assert "wrong username or password" in response.text
    assert 'role="alert"' in response.text
    # The form comes back filled in, with a token that still works.
    assert f'value="{username}"' in response.text
    assert _hidden_csrf(response.text) == token
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert client.cookies.get(SESSION_COOKIE) is None
    assert _session_count(db) == 0
    # The first failure against an existing account is audited; unknown names are only counted.
    assert _audit_count(db) == audit_before + (1 if username == "dana" else 0)


def test_right_password_redirects_to_next_with_a_safe_session_cookie(
    client: TestClient, db: Database, dana: str, settings: Settings
) -> None:
    token = _login_form_token(client, next="/audit")
    audit_before = _audit_count(db)

    response = client.post(
        "/login",
        data={"username": " dana ", "password": PASSWORD, "csrf_token": token, "next": "/audit"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/audit"
    cookies = _set_cookies(response.headers.get_list("set-cookie"))
    session_cookie = cookies[SESSION_COOKIE][SESSION_COOKIE]
    assert session_cookie.value
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"].lower() == "lax"
    assert int(session_cookie["max-age"]) == settings.session_hours * 3600
    assert not session_cookie["secure"]  # cookie_secure is off by default
    # The one-time login CSRF cookie is dropped.
    assert cookies[LOGIN_CSRF_COOKIE][LOGIN_CSRF_COOKIE]["max-age"] == "0"
    assert _session_count(db) == 1
    assert _audit_count(db) == audit_before + 1
    with db.read() as session:
        last, _ = audit.page(session, flt=audit.AuditFilter(action="auth.login"))
    assert [r.actor for r in last] == ["dana"]

    page = client.get("/audit")
    assert page.status_code == 403  # a responder may not read the audit trail, as in the API
    assert "dana · responder" in page.text


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "evil.example",
    ],
)
def test_login_refuses_an_open_redirect(client: TestClient, dana: str, target: str) -> None:
    page = client.get("/login", params={"next": target})
    next_field = re.search(r'name="next" value="([^"]*)"', page.text)
    assert next_field
    assert _stays_on_site(html.unescape(next_field.group(1)))
    token = _hidden_csrf(page.text)

    response = client.post(
        "/login",
        data={"username": dana, "password": PASSWORD, "csrf_token": token, "next": target},
        follow_redirects=False,
    )

    assert response.status_code == 303
    location = response.headers["location"]
    assert _stays_on_site(location), location
    assert location == "/"


def test_overview_requires_login(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    _assert_login_redirect(response, "/")

    for path in ["/audit", "/audit/verify", "/slos"]:
        _assert_login_redirect(client.get(path, follow_redirects=False), path)


def test_overview_shows_counts_and_activity_to_an_audit_reader(
    client: TestClient, db: Database
) -> None:
    make_user(db, "dana", Role.approver, password=PASSWORD)
    make_user(db, "erin", Role.viewer)
    make_user(db, "frank", Role.admin)
    _login(client)
    audit_records = _audit_count(db)

    response = client.get("/")

    assert response.status_code == 200
    assert "<h1>Overview</h1>" in response.text
    assert '<span data-testid="users">3</span> users' in response.text
    assert audit_records == 4  # three user.create and one auth.login
    assert 'data-testid="who">dana · approver<' in response.text
    # Recent activity lists the newest record first.
    rows = re.findall(r"<tr><td>(\d+)</td>", response.text)
    assert rows == ["4", "3", "2", "1"]
    assert f"intact · {audit_records} records" in response.text
    assert f"head #{audit_records}" in response.text
    assert f"database {db.dialect}" in response.text


def test_every_domain_page_and_the_navigation_render(client: TestClient, dana: str) -> None:
    _login(client)
    overview = client.get("/").text
    slos = client.get("/slos")
    assert slos.status_code == 200 and "<h1>SLOs</h1>" in slos.text
    assert "No SLOs yet" in slos.text
    assert '<a href="/slos" title="Monitor">SLOs</a>' in overview
    assert '<a href="/incidents" title="Respond">Incidents</a>' in overview
    assert '<a href="/alerts" title="Respond">Alerts</a>' in overview
    assert '<a href="/changes" title="Improve">Changes</a>' in overview
    for slug, label in [
        ("oncall", "On-call"),
        ("reviews", "Reviews"),
    ]:
        # Planned sections are marked as such in the navigation, not offered as features.
        assert f'<a href="/{slug}" class="soon"' in overview
        assert f"{label} <small>soon</small>" in overview
        response = client.get(f"/{slug}")
        assert response.status_code == 200
        assert f"<h1>{label} <span" in response.text
        assert "not enabled in this opsloop version yet" in response.text


def test_logout_without_csrf_is_refused_and_the_session_stays(
    client: TestClient, db: Database, dana: str
) -> None:
    _login(client)
    audit_before = _audit_count(db)

    missing = client.post("/logout", follow_redirects=False)
    wrong = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)

    assert missing.status_code == 403
    assert wrong.status_code == 403
    assert _session_count(db) == 1
    assert _audit_count(db) == audit_before
    assert client.get("/", follow_redirects=False).status_code == 200


def test_logout_with_csrf_ends_the_session(client: TestClient, db: Database, dana: str) -> None:
    cookie = _login(client)
    csrf = _hidden_csrf(client.get("/").text)

    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert _session_count(db) == 0
    with db.read() as session:
        records, _ = audit.page(session, flt=audit.AuditFilter(action="auth.logout"))
    assert [r.actor for r in records] == ["dana"]
    # Even a client that kept the old cookie is signed out: the server forgot the session.
    client.cookies.set(SESSION_COOKIE, cookie)
    _assert_login_redirect(client.get("/", follow_redirects=False))
    # And the old CSRF token is worthless with it.
    assert (
        client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        .headers["location"]
        .startswith("/login?next=")
    )


def test_csrf_token_is_bound_to_the_session(client: TestClient, db: Database, dana: str) -> None:
    make_user(db, "erin", Role.viewer, password=PASSWORD)
    _login(client)
    dana_csrf = _hidden_csrf(client.get("/").text)
    client.cookies.clear()
    _login(client, "erin")
    erin_csrf = _hidden_csrf(client.get("/").text)
    assert erin_csrf != dana_csrf

    response = client.post("/logout", data={"csrf_token": dana_csrf}, follow_redirects=False)

    assert response.status_code == 403
    assert _session_count(db) == 2


def test_an_expired_session_redirects_to_login(
    client: TestClient, dana: str, settings: Settings, frozen_clock: FrozenClock
) -> None:
    _login(client)
    frozen_clock.advance(timedelta(hours=settings.session_hours) - timedelta(minutes=1))
    assert client.get("/", follow_redirects=False).status_code == 200

    frozen_clock.advance(timedelta(minutes=2))

    _assert_login_redirect(client.get("/", follow_redirects=False))
    _assert_login_redirect(client.get("/audit", follow_redirects=False), "/audit")


def test_audit_page_and_verify_render(client: TestClient, db: Database) -> None:
    make_user(db, "dana", Role.approver, password=PASSWORD)
    _login(client)
    count = _audit_count(db)

    page = client.get("/audit")
    verify = client.get("/audit/verify", headers={"HX-Request": "true"})

    assert page.status_code == 200
    assert "<h1>Audit trail</h1>" in page.text
    assert 'hx-get="/audit/verify"' in page.text
    assert "<td>user.create</td>" in page.text
    assert "<td>auth.login</td>" in page.text
    assert "Load more" not in page.text
    assert verify.status_code == 200
    assert "<html" not in verify.text
    assert 'class="ok" data-testid="chain-status"' in verify.text
    assert f"intact · {count} records" in verify.text


def test_audit_load_more_pages_newest_first_with_htmx(client: TestClient, db: Database) -> None:
    make_user(db, "dana", Role.approver, password=PASSWORD)
    for i in range(55):
        make_user(db, f"user{i}", Role.viewer)
    _login(client)  # 57 records in all

    page = client.get("/audit")
    seqs = [int(s) for s in re.findall(r"<tr><td>(\d+)</td>", page.text)]
    assert seqs == list(range(57, 7, -1))
    assert 'hx-get="/audit?before=8"' in page.text

    rows = client.get("/audit", params={"before": 8}, headers={"HX-Request": "true"})

    assert rows.status_code == 200
    assert rows.text.lstrip().startswith("<tr>")
    for whole_page_part in ("<html", "<header", "<table", "<h1>", "Sign out"):
        assert whole_page_part not in rows.text
    seqs = [int(s) for s in re.findall(r"<tr><td>(\d+)</td>", rows.text)]
    assert seqs == list(range(7, 0, -1))
    assert "Load more" not in rows.text
    # Without the htmx header the same address is a whole page.
    assert "<html" in client.get("/audit", params={"before": 8}).text


def test_unknown_page_is_a_404_page(client: TestClient, dana: str) -> None:
    _login(client)

    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in response.text
    assert 'data-testid="who"' in response.text  # still inside the signed-in layout


def test_a_disabled_users_session_stops_working(
    client: TestClient, db: Database, dana: str
) -> None:
    _login(client)
    assert client.get("/", follow_redirects=False).status_code == 200

    with db.write() as session:
        auth.update_user(session, principal=SYSTEM, username=dana, disabled=True)

    _assert_login_redirect(client.get("/", follow_redirects=False))
    token = _login_form_token(client)
    again = client.post(
        "/login",
        data={"username": dana, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert again.status_code == 401
