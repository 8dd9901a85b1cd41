"""/api/v1/notifications through the TestClient, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from opsloop.app import create_app
from opsloop.core.audit.models import AuditRecord
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.notifications.delivery import deliver_due
from opsloop.notifications.models import Channel, OutboxEntry, Subscription
from tests.helpers import bearer
from tests.notifications.receivers import HANG, notify_settings, receiver

API = "/api/v1/notifications"


@pytest.fixture
def api(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(notify_settings(db, tmp_path), db)) as client:
        yield client


def _count(db: Database, column: object) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count(column))) or 0)  # type: ignore[arg-type]


def _audit_text(db: Database) -> str:
    with db.read() as session:
        return " ".join(session.scalars(select(AuditRecord.changes)))


def test_channels_hide_their_secrets_everywhere_but_the_creating_answer(
    api: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    approver = bearer(tokens[Role.approver])
    made = api.post(
        f"{API}/channels",
        json={"name": "ops-hook", "kind": "webhook", "target": "http://127.0.0.1:9/in?token=abc"},
        headers=approver,
    )
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    assert secret.startswith("whsec_")
    chat = api.post(
        f"{API}/channels",
        json={"name": "team-chat", "kind": "apprise", "target": "slack://T1AAA/B2BBB/C3CCC"},
        headers=approver,
    )
    assert chat.status_code == 201 and chat.json()["secret"] is None
    listed = api.get(f"{API}/channels", headers=bearer(tokens[Role.viewer])).json()
    assert [c["name"] for c in listed] == ["ops-hook", "team-chat"]
    assert listed[0]["secret"] == "********" and listed[0]["target"] == "http://127.0.0.1:9/…"
    assert listed[1]["target"] == "slack://…"
    shown = api.get(f"{API}/channels/{listed[0]['id']}", headers=approver).text
    stored = _audit_text(db)
    with db.read() as session:
        raw = " ".join(session.scalars(select(Channel.target)))
    for leak in (secret, "token=abc", "C3CCC"):
        assert leak not in shown + stored + raw
    rotated = api.post(f"{API}/channels/{listed[0]['id']}/rotate-secret", headers=approver).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    assert rotated["previous_secret_valid_until"] is not None
    assert rotated["secret"] not in _audit_text(db)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"kind": "webhook", "target": "not a url"}, "target", "http"),
        ({"kind": "webhook", "target": "ftp://127.0.0.1/x"}, "target", "http"),
        ({"kind": "webhook", "target": "http://169.254.169.254/latest"}, "target", "metadata"),
        ({"kind": "webhook", "target": "http://[fe80::1]/x"}, "target", "link-local"),
        ({"kind": "apprise", "target": "nosuchservice://abc"}, "target", "Apprise"),
        ({"kind": "webhook", "target": "http://127.0.0.1/", "secret": "abc"}, "secret", "whsec_"),
        ({"kind": "pager", "target": "http://127.0.0.1/"}, "kind", ""),
    ],
)
def test_bad_channels_are_422_naming_the_field_and_write_nothing(
    api: TestClient,
    tokens: dict[Role, str],
    db: Database,
    body: dict[str, str],
    field: str,
    words: str,
) -> None:
    audited = _count(db, AuditRecord.seq)
    answer = api.post(
        f"{API}/channels", json={"name": "x", **body}, headers=bearer(tokens[Role.approver])
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["field"] == field and words in error["message"]
    assert _count(db, Channel.id) == 0 and _count(db, AuditRecord.seq) == audited


def test_private_targets_are_refused_unless_allowed(
    db: Database, tmp_path: Path, tokens: dict[Role, str]
) -> None:
    settings = notify_settings(db, tmp_path, notifications_allow_private_targets=False)
    with TestClient(create_app(settings, db)) as client:
        answer = client.post(
            f"{API}/channels",
            json={"name": "x", "kind": "webhook", "target": "http://10.0.0.8/hook"},
            headers=bearer(tokens[Role.approver]),
        )
    assert answer.status_code == 422 and "private" in answer.json()["error"]["message"]


def test_subscriptions_refuse_unknown_event_types(
    api: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    approver = bearer(tokens[Role.approver])
    api.post(
        f"{API}/channels",
        json={"name": "hook", "kind": "webhook", "target": "http://127.0.0.1:9/"},
        headers=approver,
    )
    bad = api.post(
        f"{API}/subscriptions",
        json={"channel": "hook", "events": ["slo.nothing"]},
        headers=approver,
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "events"
    assert _count(db, Subscription.id) == 0
    tier = api.post(
        f"{API}/subscriptions",
        json={"channel": "hook", "events": ["*"], "tier": 5},
        headers=approver,
    )
    assert tier.status_code == 422
    made = api.post(
        f"{API}/subscriptions",
        json={"channel": "hook", "events": ["slo.*"], "team": "payments"},
        headers=approver,
    )
    assert made.status_code == 201, made.text
    listed = api.get(f"{API}/subscriptions", headers=bearer(tokens[Role.viewer])).json()
    assert listed[0]["events"] == ["slo.*"] and listed[0]["team"] == "payments"
    assert (
        api.delete(f"{API}/subscriptions/{made.json()['id']}", headers=approver).status_code == 204
    )
    assert _count(db, Subscription.id) == 0


def test_roles(api: TestClient, tokens: dict[Role, str], db: Database) -> None:
    body = {"name": "hook", "kind": "webhook", "target": "http://127.0.0.1:9/"}
    assert api.post(f"{API}/channels", json=body).status_code == 401
    for role in (Role.viewer, Role.responder):
        answer = api.post(f"{API}/channels", json=body, headers=bearer(tokens[role]))
        assert answer.status_code == 403
    assert _count(db, Channel.id) == 0
    made = api.post(f"{API}/channels", json=body, headers=bearer(tokens[Role.approver])).json()
    responder = bearer(tokens[Role.responder])
    for method, path in [
        ("post", f"/channels/{made['id']}/test"),
        ("post", f"/channels/{made['id']}/rotate-secret"),
        ("patch", f"/channels/{made['id']}"),
        ("delete", f"/channels/{made['id']}"),
        ("post", "/outbox/1/resend"),
    ]:
        kwargs = {"json": {}} if method == "patch" else {}
        assert getattr(api, method)(API + path, headers=responder, **kwargs).status_code == 403
    assert api.get(f"{API}/outbox", headers=bearer(tokens[Role.viewer])).status_code == 200


def test_test_message_outbox_and_resend_with_the_same_webhook_id(
    api: TestClient, tokens: dict[Role, str], db: Database, tmp_path: Path
) -> None:
    approver = bearer(tokens[Role.approver])
    settings = notify_settings(db, tmp_path)
    with receiver(200) as hook, httpx.Client(timeout=5) as http:
        made = api.post(
            f"{API}/channels",
            json={"name": "hook", "kind": "webhook", "target": hook.url},
            headers=approver,
        ).json()
        queued = api.post(f"{API}/channels/{made['id']}/test", headers=approver)
        assert queued.status_code == 202
        entry = queued.json()["outbox_id"]
        early = api.post(f"{API}/outbox/{entry}/resend", headers=approver)
        assert early.status_code == 422 and "pending" in early.json()["error"]["message"]
        assert deliver_due(db, settings, http) == 1
        detail = api.get(f"{API}/outbox/{entry}", headers=approver).json()
        assert detail["state"] == "delivered" and detail["attempt_log"][0]["status"] == 200
        assert detail["payload"]["type"] == "notification.test"
        page = api.get(f"{API}/outbox", params={"state": "delivered"}, headers=approver).json()
        assert [o["id"] for o in page["items"]] == [entry]
        assert (
            api.get(f"{API}/outbox", params={"state": "dead"}, headers=approver).json()["items"]
            == []
        )
        again = api.post(f"{API}/outbox/{entry}/resend", headers=approver)
        assert again.status_code == 200 and again.json()["state"] == "pending"
        assert deliver_due(db, settings, http) == 1
        assert len(hook.received) == 2 and len(set(hook.ids())) == 1
        hook.verified(made["secret"])
    assert "notification.resend" in {a for a in _actions(db)}
    channel = api.get(f"{API}/channels/{made['id']}", headers=approver).json()
    assert channel["last_delivery_at"] is not None and channel["failure_count"] == 0
    metrics = api.get("/metrics").text
    assert 'opsloop_notification_channel_failures{channel="hook",kind="webhook"} 0.0' in metrics
    assert 'opsloop_notification_outbox{state="delivered"} 1.0' in metrics


def _actions(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(AuditRecord.action)))


def test_the_api_answers_while_a_delivery_hangs(
    db: Database, tmp_path: Path, tokens: dict[Role, str]
) -> None:
    settings = notify_settings(
        db, tmp_path, scheduler_enabled=True, notification_timeout_seconds=5,
        notification_poll_seconds=0.1, notification_delivery_threads=1,
    )  # fmt: skip
    approver = bearer(tokens[Role.approver])
    with receiver(HANG) as hook, TestClient(create_app(settings, db)) as client:
        made = client.post(
            f"{API}/channels",
            json={"name": "slow", "kind": "webhook", "target": hook.url},
            headers=approver,
        ).json()
        client.post(f"{API}/channels/{made['id']}/test", headers=approver)
        deadline = time.monotonic() + 10
        while not hook.received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hook.received, "the delivery thread never called the receiver"
        started = time.monotonic()
        answer = client.get(f"{API}/channels", headers=approver)
        assert answer.status_code == 200
        assert time.monotonic() - started < 1.0
        with db.read() as session:
            row = session.scalars(select(OutboxEntry)).one()
            assert row.state.value == "sending"  # still waiting on the receiver
        assert client.get("/readyz").status_code == 200
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
