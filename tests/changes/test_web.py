"""The change pages: list, submit form, change page with approvals for approvers, the state
buttons, the gate and the history; the week calendar with windows, freezes and gates.
Refusals come back as the page with the message. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.changes.helpers import freeze_budget, future, make_service, row_counts
from tests.web.pages import is_html, sign_in

FORM = {
    "title": "Add an index",
    "service": "checkout",
    "category": "database",
    "model": "normal",
    "risk": "medium",
    "rollback_plan": "drop the index",
}


def test_submit_approve_schedule_and_see_it_on_the_calendar(
    client: TestClient, db: Database, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    make_service(db, "checkout")
    csrf = sign_in(client, "responder")
    assert client.get("/changes/new").status_code == 200
    before = row_counts(db)
    refused = client.post("/changes/new", data={**FORM, "rollback_plan": "", "csrf_token": csrf})
    assert refused.status_code == 422 and 'data-field="rollback_plan"' in refused.text
    assert row_counts(db) == before
    created = client.post("/changes/new", data={**FORM, "csrf_token": csrf})
    assert created.status_code == 200 and "CR-2026-001" in str(created.url)
    assert 'data-testid="state">submitted' in created.text
    assert 'data-testid="approve-form"' not in created.text  # a responder does not decide
    listing = client.get("/changes")
    assert listing.status_code == 200 and is_html(listing)
    assert listing.text.count('data-testid="change-row"') == 1
    assert client.get("/changes?state=nope").status_code == 422

    csrf = sign_in(client, "approver")
    page = client.get("/changes/CR-2026-001")
    assert 'data-testid="approve-form"' in page.text and 'data-testid="gate-open"' in page.text
    approved = client.post(
        "/changes/CR-2026-001/approve", data={"comment": "fine", "csrf_token": csrf}
    )
    assert 'data-testid="state">approved' in approved.text
    assert 'data-testid="approval"' in approved.text

    csrf = sign_in(client, "responder")
    past = (clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    bad = client.post(
        "/changes/CR-2026-001/schedule",
        data={"window_start": past, "duration_minutes": "60", "csrf_token": csrf},
    )
    assert bad.status_code == 422 and 'data-field="window_start"' in bad.text
    when = future(3).strftime("%Y-%m-%dT%H:%M")
    scheduled = client.post(
        "/changes/CR-2026-001/schedule",
        data={"window_start": when, "duration_minutes": "60", "csrf_token": csrf},
    )
    assert 'data-testid="state">scheduled' in scheduled.text
    assert 'data-testid="history-entry"' in scheduled.text
    calendar = client.get("/changes/calendar")
    assert calendar.status_code == 200 and 'data-testid="window-block"' in calendar.text
    assert "CR-2026-001" in calendar.text
    assert 'data-testid="freeze-form"' not in calendar.text  # freezes are for approvers
    assert client.get("/changes/calendar?week=someday").status_code == 422
    assert client.get("/changes/calendar?week=9999-12-31").status_code == 422
    assert client.get("/changes/calendar?week=0001-01-01").status_code == 422


def test_freezes_on_the_calendar_and_the_gate_refusing_a_normal_change(
    client: TestClient, db: Database, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    freeze_budget(client, tokens, db)
    csrf = sign_in(client, "approver")
    start, end = future(1).strftime("%Y-%m-%dT%H:%M"), future(30).strftime("%Y-%m-%dT%H:%M")
    added = client.post(
        "/changes/freezes",
        data={"name": "Launch", "starts_at": start, "ends_at": end, "csrf_token": csrf},
    )
    assert added.status_code == 200 and 'data-testid="freeze-block"' in added.text
    assert 'data-testid="freeze-row"' in added.text
    csrf = sign_in(client, "responder")
    client.post("/changes/new", data={**FORM, "csrf_token": csrf})
    csrf = sign_in(client, "approver")
    page = client.get("/changes/CR-2026-001")
    assert 'data-testid="gate-closed"' in page.text and "availability" in page.text
    refused = client.post("/changes/CR-2026-001/approve", data={"comment": "", "csrf_token": csrf})
    assert refused.status_code == 409 and "feature freeze" in refused.text
    assert 'data-testid="state">submitted' in refused.text
    csrf = sign_in(client, "admin")
    overridden = client.post(
        "/changes/CR-2026-001/override-gate", data={"reason": "CTO agreed", "csrf_token": csrf}
    )
    assert overridden.status_code == 200 and "CTO agreed" in overridden.text
