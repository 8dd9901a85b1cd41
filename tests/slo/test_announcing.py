"""The evaluation's alert and policy changes reach people through the outbox: routed by the
owning team of the SLO's service, committed with the evaluation, delivered signed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from opsloop.app import create_app
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.notifications.delivery import deliver_due
from opsloop.slo import evaluation
from tests.helpers import bearer
from tests.notifications.conftest import real_now_clock
from tests.notifications.receivers import notify_settings, receiver
from tests.slo.test_push_evaluate import create_pushed, minutes, push

__all__ = ["real_now_clock"]
pytestmark = pytest.mark.usefixtures("real_now_clock")


@pytest.fixture
def nsettings(db: Database, tmp_path: Path) -> Settings:
    return notify_settings(db, tmp_path)


@pytest.fixture
def app_client(nsettings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(nsettings, db)) as client:
        yield client


def outbox(client: TestClient, token: str) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/notifications/outbox?limit=100", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def test_a_firing_page_alert_reaches_the_owning_teams_channel_signed(
    app_client: TestClient,
    nsettings: Settings,
    db: Database,
    tokens: dict[Role, str],
    real_now_clock: clock.FrozenClock,
) -> None:
    approver = bearer(tokens[Role.approver])
    slo_id = create_pushed(app_client, tokens[Role.approver])  # checkout/availability
    for team in ("payments", "search"):
        assert app_client.post("/api/v1/teams", json={"name": team}, headers=approver).is_success
    owned = app_client.patch(
        "/api/v1/services/checkout", json={"owner_team": "payments", "tier": 1}, headers=approver
    )
    assert owned.status_code == 200, owned.text

    with receiver(200) as payments, receiver(200) as search:
        secrets = {}
        for name, hook, team in (
            ("payments-hook", payments, "payments"),
            ("search-hook", search, "search"),
        ):
            made = app_client.post(
                "/api/v1/notifications/channels",
                json={"name": name, "kind": "webhook", "target": hook.url},
                headers=approver,
            )
            assert made.status_code == 201, made.text
            secrets[name] = made.json()["secret"]
            subscribed = app_client.post(
                "/api/v1/notifications/subscriptions",
                json={"channel": name, "events": ["slo.*"], "team": team},
                headers=approver,
            )
            assert subscribed.status_code == 201, subscribed.text

        # One hour at 2 % errors burns 20x: the page alerts hold for their 2 minutes and fire.
        start = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=61)
        push(app_client, tokens[Role.responder], slo_id, minutes(start, 60, 980, 1000))
        for _ in range(3):
            evaluation.evaluate(db, now=clock.now())
            real_now_clock.advance(timedelta(minutes=1))

        queued = outbox(app_client, tokens[Role.viewer])
        assert {e["channel"] for e in queued} == {"payments-hook"}
        types = {e["event_type"] for e in queued}
        assert {"slo.alert.firing", "slo.policy.changed"} <= types

        with httpx.Client(timeout=5) as http:
            while deliver_due(db, nsettings, http):
                pass
        bodies = payments.verified(secrets["payments-hook"])  # the reference verifier
        assert search.received == []

    firing = [b for b in bodies if b["type"] == "slo.alert.firing"]
    assert firing, bodies
    data = firing[0]["data"]
    assert data["team"] == "payments" and data["tier"] == 1 and data["service"] == "checkout"
    assert data["summary"].startswith("[PAGE] checkout/availability: burn-rate alert page-")
    assert "error budget left" in data["summary"]
    assert data["link"] == f"http://127.0.0.1:8080/slos/{slo_id}"
    assert data["slo"] == {"id": slo_id, "service": "checkout", "name": "availability"}


def test_an_evaluation_that_fails_announces_nothing(
    app_client: TestClient, db: Database, tokens: dict[Role, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    approver = bearer(tokens[Role.approver])
    slo_id = create_pushed(app_client, tokens[Role.approver])
    made = app_client.post(
        "/api/v1/notifications/channels",
        json={"name": "all", "kind": "webhook", "target": "http://127.0.0.1:9/hook"},
        headers=approver,
    )
    assert made.status_code == 201, made.text
    app_client.post(
        "/api/v1/notifications/subscriptions",
        json={"channel": "all", "events": ["*"]},
        headers=approver,
    )
    start = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=61)
    push(app_client, tokens[Role.responder], slo_id, minutes(start, 60, 980, 1000))

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the results could not be stored")

    # The announcement is written first; the evaluation's last write fails after it.
    monkeypatch.setattr(evaluation, "store_results", broken)
    with pytest.raises(RuntimeError):
        evaluation.evaluate(db, now=clock.now())
    assert outbox(app_client, tokens[Role.viewer]) == []
