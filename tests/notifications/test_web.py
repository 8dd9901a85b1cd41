"""The notifications page, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opsloop.app import create_app
from opsloop.core.db import Database
from opsloop.notifications.kinds import OutboxState
from opsloop.notifications.models import Channel, OutboxEntry, Subscription
from tests.notifications.receivers import notify_settings
from tests.web.pages import csrf_of, sign_in, user_per_role


@pytest.fixture
def web(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    user_per_role(db)
    with TestClient(create_app(notify_settings(db, tmp_path), db)) as client:
        yield client


def _channels(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count(Channel.id))) or 0)


def test_an_approver_adds_tests_and_deletes_a_channel_and_resends(
    web: TestClient, db: Database
) -> None:
    csrf = sign_in(web, "approver")
    page = web.get("/notifications")
    assert page.status_code == 200 and "<h1>Notifications</h1>" in page.text
    assert 'href="/notifications"' in page.text  # in the navigation
    form = {
        "csrf_token": csrf,
        "name": "ops-hook",
        "kind": "webhook",
        "target": "http://127.0.0.1:9/x",
    }
    added = web.post("/notifications/channels", data=form)
    assert added.status_code == 201 and "whsec_" in added.text
    assert "ops-hook" in web.get("/notifications").text
    bad = web.post("/notifications/channels", data={**form, "name": "two", "target": "ftp://x/"})
    assert bad.status_code == 422 and 'data-field="target"' in bad.text
    with db.read() as session:
        channel_id = session.scalars(select(Channel.id)).one()
    tested = web.post(
        f"/notifications/channels/{channel_id}/test",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert tested.status_code == 303
    with db.write(audited=False) as session:
        row = session.scalars(select(OutboxEntry)).one()
        row.state, entry_id = OutboxState.dead, row.id
    dead = web.get("/notifications", params={"state": "dead"}).text
    assert f"/notifications/outbox/{entry_id}/resend" in dead
    resent = web.post(
        f"/notifications/outbox/{entry_id}/resend",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert resent.status_code == 303
    with db.read() as session:
        assert session.get(OutboxEntry, entry_id).state is OutboxState.pending  # type: ignore[union-attr]
    deleted = web.post(
        f"/notifications/channels/{channel_id}/delete",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert deleted.status_code == 303 and _channels(db) == 0


def test_a_responder_sees_the_page_but_may_not_write(web: TestClient, db: Database) -> None:
    csrf = sign_in(web, "responder")
    page = web.get("/notifications").text
    assert "Add channel" not in page
    form = {"csrf_token": csrf, "name": "x", "kind": "webhook", "target": "http://127.0.0.1:9/x"}
    assert web.post("/notifications/channels", data=form).status_code == 403
    assert _channels(db) == 0


def test_a_form_without_the_csrf_token_is_refused(web: TestClient, db: Database) -> None:
    sign_in(web, "approver")
    form = {"name": "x", "kind": "webhook", "target": "http://127.0.0.1:9/x"}
    assert web.post("/notifications/channels", data=form).status_code == 403
    assert _channels(db) == 0
    assert csrf_of(web.get("/notifications").text)


def test_an_approver_subscribes_and_unsubscribes_a_channel_on_the_page(
    web: TestClient, db: Database
) -> None:
    csrf = sign_in(web, "approver")
    form = {"csrf_token": csrf, "name": "team-chat", "kind": "webhook"}
    assert (
        web.post(
            "/notifications/channels", data={**form, "target": "http://127.0.0.1:9/x"}
        ).status_code
        == 201
    )
    subscription = {"csrf_token": csrf, "channel": "team-chat", "events": "slo.*", "tier": "1"}
    bad = web.post("/notifications/subscriptions", data={**subscription, "events": "slo.nope"})
    assert bad.status_code == 422 and 'data-field="events"' in bad.text
    assert _subscriptions(db) == []
    made = web.post("/notifications/subscriptions", data=subscription, follow_redirects=False)
    assert made.status_code == 303
    ((sub_id, tier),) = _subscriptions(db)
    assert tier == 1
    page = web.get("/notifications").text
    assert f"/notifications/subscriptions/{sub_id}/delete" in page
    gone = web.post(
        f"/notifications/subscriptions/{sub_id}/delete",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert gone.status_code == 303 and _subscriptions(db) == []
    sign_in(web, "responder")
    assert 'data-testid="subscribe"' not in web.get("/notifications").text


def _subscriptions(db: Database) -> list[tuple[int, int | None]]:
    with db.read() as session:
        return [(s.id, s.tier) for s in session.scalars(select(Subscription))]
