"""Signing in through the form and reading a page's CSRF token, for the page tests."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.helpers import make_user

PASSWORD = "correct horse battery"
_HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _HIDDEN_CSRF.search(page)
    assert found, "no csrf_token field on the page"
    return html.unescape(found.group(1))


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Signs in through the form (dropping any earlier session); returns the CSRF token."""
    client.cookies.clear()
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/account").text)


def user_per_role(db: Database) -> None:
    """One user per role, named after it (the same names as the ``tokens`` fixture)."""
    for role in Role:
        make_user(db, role.value, role, password=PASSWORD)


def is_html(response: object) -> bool:
    content_type: str = response.headers.get("content-type", "")  # type: ignore[attr-defined]
    return content_type.startswith("text/html")
