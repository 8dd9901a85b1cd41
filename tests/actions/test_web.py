"""The action item pages: the board (columns by status, filters, escalations shown), the
forms for responders only, refusals shown next to the field, and the incident's partial for
the review page. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsloop.actions import escalation
from opsloop.actions import service as actions
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.actions.helpers import RESPONDER, add, incident, make_team
from tests.services.helpers import audit_count
from tests.web.pages import is_html, sign_in


@pytest.fixture
def key(db: Database, tokens: dict[Role, str], frozen_clock: clock.FrozenClock) -> str:
    make_team(db, "payments", {"lena": "lead", "alice": "member"})
    return incident(db).key


def test_the_board_shows_columns_filters_and_escalations(
    client: TestClient, db: Database, key: str, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    late = add(db, key, owner_user="alice", due_on=date(2026, 11, 2), description="Pool alert")
    later = add(db, key, owner_team="payments", due_on=date(2026, 12, 20), description="Runbook")
    with db.write() as session:
        actions.update_item(session, principal=RESPONDER, item_id=later.id,
                            changes={"status": "in_progress"})  # fmt: skip
    frozen_clock.advance(timedelta(days=4))
    settings = Settings(database_url=db.url, data_dir=tmp_path, scheduler_enabled=False)
    assert [e.item_id for e in escalation.run(db, settings, clock.now())] == [late.id]
    sign_in(client, "viewer")
    board = client.get("/action-items")
    assert board.status_code == 200 and is_html(board)
    assert 'href="/action-items"' in board.text  # in the navigation
    open_column = board.text.split('data-testid="column-open"')[1].split("</section>")[0]
    assert "Pool alert" in open_column and "Runbook" not in open_column
    assert 'data-testid="overdue">3d overdue' in open_column
    assert 'data-testid="escalated"' in open_column
    assert "Escalation level 1 to lena" in open_column
    progress = board.text.split('data-testid="column-in_progress"')[1].split("</section>")[0]
    assert "Runbook" in progress
    assert 'data-testid="add-form"' not in board.text
    assert 'data-testid="update-form"' not in board.text
    overdue_only = client.get("/action-items?overdue=on")
    assert overdue_only.text.count('data-testid="action-item"') == 1
    assert (
        client.get("/action-items?owner=team:payments").text.count('data-testid="action-item"') == 1
    )
    assert client.get("/action-items?team=payments").text.count('data-testid="action-item"') == 2
    refused = client.get("/action-items?team=ghosts")
    assert refused.status_code == 422 and 'data-field="team"' in refused.text


def test_responders_add_and_update_from_the_board(
    client: TestClient, db: Database, key: str
) -> None:
    csrf = sign_in(client, "responder")
    board = client.get("/action-items")
    assert 'data-testid="add-form"' in board.text
    before = audit_count(db)
    form = {"incident": key, "description": "Pool alert", "owner": "ghost", "priority": "P1",
            "due_on": "2026-11-20", "csrf_token": csrf}  # fmt: skip
    refused = client.post("/action-items", data=form)
    assert refused.status_code == 422 and 'data-field="owner_user"' in refused.text
    assert 'value="Pool alert"' in refused.text  # what was typed is kept
    assert audit_count(db) == before
    created = client.post("/action-items", data={**form, "owner": "alice"}, follow_redirects=False)
    assert created.status_code == 303
    with db.read() as session:
        (item,) = actions.list_items(session)
    assert item.owner == "alice" and item.priority.value == "P1"
    no_reason = client.post(
        f"/action-items/{item.id}", data={"status": "wont_do", "csrf_token": csrf}
    )
    assert no_reason.status_code == 422 and 'data-field="note"' in no_reason.text
    moved = client.post(
        f"/action-items/{item.id}",
        data={"status": "done", "note": "alert live", "owner": "team:payments", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    with db.read() as session:
        found = actions.get_item(session, item_id=item.id)
    assert found.status.value == "done" and found.owner == "team:payments"
    assert found.notes[-1].text == "alert live"
    no_csrf = client.post(f"/action-items/{item.id}", data={"note": "x"})
    assert no_csrf.status_code == 403


def test_viewers_cannot_post(client: TestClient, db: Database, key: str) -> None:
    item = add(db, key, owner_user="alice")
    csrf = sign_in(client, "viewer")
    answer = client.post(f"/action-items/{item.id}", data={"note": "x", "csrf_token": csrf})
    assert answer.status_code == 403
    form = {"incident": key, "description": "x", "owner": "alice", "due_on": "2026-11-20",
            "csrf_token": csrf}  # fmt: skip
    assert client.post("/action-items", data=form).status_code == 403


def test_the_incident_partial_for_the_review_page(
    client: TestClient, db: Database, key: str
) -> None:
    add(db, key, owner_user="alice", description="Pool alert")
    add(db, key, owner_team="payments", description="Runbook")
    other = incident(db, title="Other").key
    sign_in(client, "viewer")
    part = client.get(f"/incidents/{key}/action-items")
    assert part.status_code == 200 and is_html(part)
    assert "<html" not in part.text  # a fragment, not a page
    assert part.text.count('data-testid="incident-action-item"') == 2
    assert part.text.index("Pool alert") < part.text.index("Runbook")
    empty = client.get(f"/incidents/{other}/action-items")
    assert "No action items yet" in empty.text
    assert client.get("/incidents/INC-2026-404/action-items").status_code == 404
