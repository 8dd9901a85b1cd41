"""Login CSRF bound to the server, the session CSRF check, and the security headers."""

from __future__ import annotations

import re
import threading
from importlib.resources import files
from pathlib import Path

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from opsloop.app import create_app
from opsloop.core.auth import signing
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.web.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE, require_csrf
from tests.security.conftest import PASSWORD, form_token


def _post_login(client: TestClient, token: str, username: str = "dana") -> int:
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    return response.status_code


def test_an_invented_cookie_and_field_pair_is_refused(client: TestClient, dana: str) -> None:
    client.cookies.set(LOGIN_CSRF_COOKIE, "a")
    assert _post_login(client, "a") == 403


def test_a_token_signed_with_another_secret_is_refused(client: TestClient, dana: str) -> None:
    forged = signing.new_signed_token(b"not the server's secret", "login-csrf")
    client.cookies.set(LOGIN_CSRF_COOKIE, forged)
    assert _post_login(client, forged) == 403


def test_a_login_token_from_one_worker_works_on_another(
    db: Database, dana: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=db.url, data_dir=tmp_path, scheduler_enabled=False)
    with (
        TestClient(create_app(settings, db)) as one,
        TestClient(create_app(settings, Database(db.url))) as other,
    ):
        token = form_token(one)
        other.cookies.set(LOGIN_CSRF_COOKIE, token)
        assert _post_login(other, token) == 303


def test_the_server_secret_is_created_once_under_concurrency(db: Database) -> None:
    barrier = threading.Barrier(8)
    seen: list[bytes] = []
    errors: list[Exception] = []

    def fetch() -> None:
        barrier.wait()
        try:
            seen.append(signing.server_secret(Database(db.url)))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(seen) == 8 and len(set(seen)) == 1


def test_the_secret_key_setting_overrides_the_stored_secret(db: Database) -> None:
    assert signing.server_secret(db, "from-the-environment") == b"from-the-environment"


def _sign_in(client: TestClient) -> str:
    assert _post_login(client, form_token(client)) == 303
    page = client.get("/")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def test_htmx_header_is_accepted_in_place_of_the_form_field(client: TestClient, dana: str) -> None:
    csrf = _sign_in(client)
    response = client.post("/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303  # signed out


def test_a_wrong_htmx_header_is_refused_even_with_a_right_field(
    client: TestClient, dana: str
) -> None:
    csrf = _sign_in(client)
    response = client.post("/logout", data={"csrf_token": csrf}, headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in


def test_require_csrf_guards_every_unsafe_method_of_a_router(
    db: Database, dana: str, settings: Settings
) -> None:
    """What a new web router gets by being included with require_csrf."""
    with TestClient(create_app(settings, db)) as signed_in:
        csrf = _sign_in(signed_in)
        cookie = signed_in.cookies.get(SESSION_COOKIE)
    extra = APIRouter()

    @extra.api_route("/thing", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def thing() -> dict[str, bool]:
        return {"ok": True}

    app = FastAPI()
    app.state.db = db
    app.state.settings = settings
    app.include_router(extra, dependencies=[Depends(require_csrf)])
    from opsloop.core import api_errors
    from opsloop.web import errors as web_errors

    api_errors.install(app)
    web_errors.install(app)
    with TestClient(app) as client:
        client.cookies.set(SESSION_COOKIE, cookie or "")
        assert client.get("/thing").status_code == 200
        for method in ["POST", "PUT", "PATCH", "DELETE"]:
            assert client.request(method, "/thing").status_code == 403
            assert (
                client.request(method, "/thing", headers={"X-CSRF-Token": "x"}).status_code == 403
            )
            ok = client.request(method, "/thing", headers={"X-CSRF-Token": csrf})
            assert ok.status_code == 200
        form = client.post("/thing", data={"csrf_token": csrf})
        assert form.status_code == 200


def test_security_headers_on_pages_api_and_errors(
    client: TestClient, tokens: dict[object, str]
) -> None:
    token = next(iter(tokens.values()))
    for response in [
        client.get("/login"),
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}),
        client.get("/api/v1/me"),  # 401 from the gate
        client.get("/healthz"),
    ]:
        headers = response.headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in headers
    static = client.get("/static/opsloop.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")
    assert static.headers["x-content-type-options"] == "nosniff"


def test_hsts_and_secure_login_cookie_only_with_cookie_secure(db: Database, tmp_path: Path) -> None:
    settings = Settings(
        database_url=db.url, data_dir=tmp_path, scheduler_enabled=False, cookie_secure=True
    )
    with TestClient(create_app(settings, db), base_url="https://testserver") as client:
        page = client.get("/login")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "secure" in page.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    "template", sorted(p.name for p in files("opsloop.web").joinpath("templates").iterdir())
)
def test_templates_have_no_inline_script_style_or_handlers(template: str) -> None:
    text = files("opsloop.web").joinpath("templates", template).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert "<style" not in text
    assert not re.search(r"\sstyle=", text)
    assert not re.search(r"\son[a-z]+=", text), "inline event handler"
    assert "hx-on" not in text and "javascript:" not in text
