"""End to end in headless Chromium against a real ``opsloop serve``, on SQLite and PostgreSQL:
a responder declares an incident, posts a status update, resolves it, writes the
post-incident review and publishes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.helpers import make_user, running_server
from tests.incidents.helpers import make_service
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

PASSWORD = "correct horse battery"


def _declare_update_resolve(page: Page, base: str) -> str:
    page.goto(f"{base}/incidents")
    page.get_by_test_id("declare-incident").click()
    form = page.get_by_test_id("declare-form")
    form.get_by_label("Title").fill("Checkout errors")
    form.get_by_label("Severity").select_option("SEV2")
    form.get_by_label("Services").select_option("checkout")
    form.get_by_role("button", name="Declare").click()
    expect(page.get_by_test_id("status")).to_have_text("investigating")
    key = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert key == f"INC-{clock.now().year}-001"

    update = page.get_by_test_id("update-form")
    update.get_by_label("Text (empty: the template filled in)").fill(
        "Elevated 5xx on checkout; the database pool is saturated."
    )
    update.get_by_role("button", name="Post update").click()
    expect(page.get_by_test_id("timeline")).to_contain_text("the database pool is saturated")

    status = page.get_by_test_id("status-form")
    status.get_by_label("Move to").select_option("resolved")
    status.get_by_role("button", name="Change status").click()
    expect(page.get_by_test_id("status")).to_have_text("resolved")
    return key


def _write_and_publish_review(page: Page, base: str, key: str) -> None:
    page.get_by_test_id("pir-link").click()
    page.get_by_test_id("start-pir").click()
    page.goto(f"{base}/incidents/{key}/pir/edit")
    sections = page.get_by_test_id("sections-form")
    sections.get_by_label("Summary").fill("Checkout failed for 20 minutes.")
    sections.get_by_label("Root cause").fill("The connection pool was too small for peak load.")
    sections.locator('input[name="why_question_0"]').fill("Why did checkout fail?")
    sections.locator('input[name="why_answer_0"]').fill("the connection pool ran dry")
    sections.get_by_label("What went well").fill("Fast detection by the SLO alert.")
    page.get_by_test_id("save-sections").click()
    page.get_by_test_id("move-in_review").click()
    expect(page.get_by_test_id("pir-state")).to_contain_text("review")
    page.get_by_test_id("edit-pir").click()
    page.get_by_test_id("move-published").click()
    expect(page.get_by_test_id("pir-state")).to_contain_text("ublished")
    page.goto(f"{base}/incidents/{key}/pir")
    expect(page.get_by_role("heading", name="Root cause")).to_be_visible()
    expect(page.locator("body")).to_contain_text("the connection pool ran dry")


@pytest.mark.browser
def test_declare_update_resolve_and_publish_the_review(db: Database, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium`")
    make_service(db, "checkout")
    make_user(db, "alice", Role.responder, password=PASSWORD)
    with (
        running_server(
            tmp_path, OPSLOOP_DATABASE_URL=db.url, OPSLOOP_SCHEDULER_ENABLED="false"
        ) as (base, _),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/login")
            page.get_by_label("Username").fill("alice")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_test_id("who")).to_contain_text("alice")
            key = _declare_update_resolve(page, base)
            _write_and_publish_review(page, base, key)
            page.screenshot(path=str(tmp_path / "pir.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
