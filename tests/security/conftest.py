"""Builders for the sign-in and hardening tests."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsloop.app import create_app
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.helpers import make_user

PASSWORD = "correct horse battery"
HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    found = HIDDEN_CSRF.search(page.text)
    assert found
    return html.unescape(found.group(1))


def attempt(client: TestClient, username: str, password: str) -> tuple[int, dict[str, str]]:
    token = form_token(client)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    return response.status_code, dict(response.headers)


@pytest.fixture
def dana(db: Database) -> str:
    make_user(db, "dana", Role.admin, password=PASSWORD)
    return "dana"


@pytest.fixture
def app_client(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    """A client whose app has a small per-address limit, so both limits can be reached."""
    settings = Settings(
        database_url=db.url,
        data_dir=tmp_path / "data",
        scheduler_enabled=False,
        login_max_failures_per_address=8,
    )
    with TestClient(create_app(settings, db)) as client:
        yield client
