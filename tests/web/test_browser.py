"""End to end: a real ``opsloop serve`` on SQLite and on PostgreSQL, driven by headless Chromium.

Needs Debian's Chromium at /usr/bin/chromium; the machine may have no network at all, so the
browser is started with everything that would phone home switched off.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.helpers import running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.browser
def test_sign_in_overview_navigation_and_sign_out(db: Database, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium`")
    password = secrets.token_urlsafe(16)
    with running_server(
        tmp_path,
        OPSLOOP_DATABASE_URL=db.url,
        OPSLOOP_ADMIN_PASSWORD=password,
        OPSLOOP_DEMO_DATA="true",
    ) as (base, _):
        _sign_in_look_around_and_sign_out(base, password, tmp_path)
    # The server really ran on this backend: its first start seeded this database.
    with db.read() as session:
        assert auth.get_user(session, username="admin").role is Role.admin


def _sign_in_look_around_and_sign_out(base: str, password: str, tmp_path: Path) -> None:
    page_errors: list[str] = []
    failed: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            # opsloop serves no favicon; every other request of the pages must succeed.
            page.on(
                "response",
                lambda r: (
                    failed.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico")
                    else None
                ),
            )

            page.goto(f"{base}/")
            expect(page).to_have_url(f"{base}/login?next=/")
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()

            expect(page).to_have_url(f"{base}/")
            expect(page.get_by_role("heading", name="Overview")).to_be_visible()
            expect(page.get_by_test_id("who")).to_have_text("Administrator · admin")
            expect(page.get_by_test_id("users")).to_have_text("4")
            # Filled in by htmx after the page loaded: proves the vendored script runs.
            expect(page.get_by_test_id("chain-status")).to_have_text(
                re.compile(r"^intact · \d+ records$")
            )
            page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

            page.get_by_role("navigation", name="Domains").get_by_role("link", name="SLOs").click()
            expect(page).to_have_url(f"{base}/slos")
            expect(page.get_by_role("heading", name="SLOs")).to_be_visible()

            page.get_by_role("button", name="Sign out").click()
            expect(page).to_have_url(f"{base}/login")
            expect(page.get_by_test_id("who")).to_have_count(0)
            page.goto(f"{base}/")
            expect(page).to_have_url(f"{base}/login?next=/")
        finally:
            browser.close()

    assert page_errors == []
    assert failed == []
    assert (tmp_path / "overview.png").stat().st_size > 0
