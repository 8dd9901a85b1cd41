"""End to end in headless Chromium against a real ``opsloop serve``, on SQLite and PostgreSQL:
a responder submits a change, an approver approves it, and the error-budget gate refuses a
normal change on a service in feature freeze."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.slo import evaluation
from tests.changes.helpers import make_service
from tests.helpers import bearer, make_token, make_user, running_server
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

PASSWORD = "correct horse battery"


def _freeze_payments(base: str, db: Database) -> None:
    """An SLO of payments with 5 % of its budget left, recorded by an evaluation."""
    approver = bearer(make_token(db, "bob", Role.approver))
    body = {"service": "payments", "name": "availability", "objective": 99.9}
    created = httpx.post(f"{base}/api/v1/slos", json=body, headers=approver, timeout=30)
    assert created.status_code == 201, created.text
    start = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    events = [
        {"timestamp": (start + timedelta(minutes=i)).isoformat(), "good": 99905, "total": 100000}
        for i in range(10)
    ]
    pushed = httpx.post(
        f"{base}/api/v1/slos/{created.json()['id']}/events",
        json={"events": events},
        headers=approver,
        timeout=30,
    )
    assert pushed.status_code == 200, pushed.text
    evaluation.evaluate(db, now=clock.now())


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_contain_text(username)


def _submit_change(page: Page, base: str, title: str, service: str) -> None:
    page.goto(f"{base}/changes")
    page.get_by_test_id("submit-change").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Service").select_option(service)
    page.get_by_label("Category").select_option("database")
    page.get_by_label("Rollback plan").fill("drop the index")
    page.get_by_test_id("create-change").click()
    expect(page.get_by_test_id("state")).to_have_text("submitted")


@pytest.mark.browser
def test_submit_approve_and_the_gate_refusing(db: Database, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium`")
    make_service(db, "checkout")
    make_user(db, "alice", Role.responder, password=PASSWORD)
    make_user(db, "bob", Role.approver, password=PASSWORD)
    with running_server(
        tmp_path, OPSLOOP_DATABASE_URL=db.url, OPSLOOP_SCHEDULER_ENABLED="false"
    ) as (base, _):
        _freeze_payments(base, db)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            try:
                alice = browser.new_context().new_page()
                alice.set_default_timeout(15_000)
                _sign_in(alice, base, "alice")
                _submit_change(alice, base, "Add an index", "checkout")
                expect(alice).to_have_url(f"{base}/changes/CR-{clock.now().year}-001")
                expect(alice.get_by_test_id("approve-form")).to_have_count(0)
                _submit_change(alice, base, "Add a column", "payments")

                bob = browser.new_context().new_page()
                bob.set_default_timeout(15_000)
                _sign_in(bob, base, "bob")
                bob.goto(f"{base}/changes")
                bob.get_by_role("link", name=f"CR-{clock.now().year}-001").click()
                expect(bob.get_by_test_id("gate-open")).to_be_visible()
                bob.get_by_test_id("approve-form").get_by_label("Comment").fill("fine")
                bob.get_by_test_id("approve").click()
                expect(bob.get_by_test_id("state")).to_have_text("approved")
                expect(bob.get_by_test_id("approval")).to_contain_text("bob")
                soon = (clock.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
                bob.get_by_label("Window start (UTC)").fill(soon)
                bob.get_by_role("button", name="Schedule").click()
                expect(bob.get_by_test_id("state")).to_have_text("scheduled")

                bob.goto(f"{base}/changes/CR-{clock.now().year}-002")
                expect(bob.get_by_test_id("gate-closed")).to_contain_text("availability")
                bob.get_by_test_id("approve").click()
                expect(bob.get_by_role("alert")).to_contain_text("feature freeze")
                expect(bob.get_by_test_id("state")).to_have_text("submitted")
                bob.screenshot(path=str(tmp_path / "change.png"), full_page=True)
                # The weeks holding the window and the freeze, which need not be this week.
                window_day = (clock.now() + timedelta(hours=1)).date()
                bob.goto(f"{base}/changes/calendar?week={window_day}")
                expect(bob.get_by_test_id("calendar")).to_be_visible()
                expect(bob.get_by_test_id("gates")).to_contain_text("payments")
                expect(bob.get_by_test_id("window-block").first).to_contain_text("Add an index")
                later = clock.now() + timedelta(days=1)
                bob.get_by_label("Name").fill("Launch")
                bob.get_by_label("From (UTC)").fill(later.strftime("%Y-%m-%dT%H:%M"))
                bob.get_by_label("To (UTC)").fill(
                    (later + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
                )
                bob.get_by_role("button", name="Declare freeze").click()
                expect(bob.get_by_test_id("freeze-row")).to_contain_text("Launch")
                bob.goto(f"{base}/changes/calendar?week={later.date()}")
                expect(bob.get_by_test_id("freeze-block").first).to_contain_text("Launch")
                bob.screenshot(path=str(tmp_path / "calendar.png"), full_page=True)
            finally:
                browser.close()
