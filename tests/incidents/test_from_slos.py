"""SLO page alerts declare incidents by themselves where the service allows it, once per
firing alert; still firing after a while they escalate it; overdue updates are announced once."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.incidents import from_slos, jobs, lifecycle
from opsloop.incidents import service as incidents
from opsloop.incidents.rules import Severity
from opsloop.incidents.vocabulary import Audience
from opsloop.notifications import channels
from opsloop.notifications import service as notify
from opsloop.notifications.kinds import ChannelKind
from opsloop.notifications.models import OutboxEntry
from opsloop.slo import evaluation
from tests.cli_run import invoke
from tests.helpers import bearer
from tests.notifications.receivers import notify_settings
from tests.slo.test_push_evaluate import NOW, at_now, create_pushed, minutes, push

__all__ = ["at_now"]
pytestmark = pytest.mark.usefixtures("at_now")


def burning(
    client: TestClient, tokens: dict[Role, str], tier: int | None, service: str = "checkout"
) -> int:
    """An SLO of ``service`` (tier as given) whose page alerts fire two minutes from now."""
    slo_id = create_pushed(client, tokens[Role.approver], service=service)
    if tier is not None:
        patched = client.patch(
            f"/api/v1/services/{service}",
            json={"tier": tier},
            headers=bearer(tokens[Role.approver]),
        )
        assert patched.status_code == 200, patched.text
    burn(client, tokens, slo_id)
    return slo_id


def burn(client: TestClient, tokens: dict[Role, str], slo_id: int) -> None:
    # An hour at 2 % errors burns 20x: both page alerts hold for their 2 minutes, then fire.
    last_hour = minutes(clock.now() - timedelta(minutes=60), 60, 980, 1000)
    assert push(client, tokens[Role.responder], slo_id, last_hour).is_success


def evaluate_minutes(db: Database, frozen: clock.FrozenClock, count: int) -> None:
    for _ in range(count):
        evaluation.evaluate(db, now=clock.now())
        frozen.advance(timedelta(minutes=1))


def declared(db: Database) -> list[incidents.IncidentView]:
    with db.read() as session:
        return incidents.list_incidents(session, flt=None)


def test_a_tier_1_page_declares_one_sev2_however_many_evaluations_see_it(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> None:
    slo_id = burning(client, tokens, tier=1)
    evaluate_minutes(db, at_now, 6)
    (incident,) = declared(db)
    assert incident.title == "SLO violation — checkout/availability"
    assert incident.severity is Severity.SEV2 and incident.services == ("checkout",)
    assert incident.slos == ("checkout/availability",)
    assert incident.detection_method.value == "alert"
    # Detected when the alert started firing's condition: two minutes into the evaluations.
    assert incident.detected_at == incident.started_at <= NOW + timedelta(minutes=2)
    assert slo_id


def test_other_tiers_declare_only_when_the_service_says_so(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> None:
    token = bearer(tokens[Role.responder])
    search = create_pushed(client, tokens[Role.approver], service="search")
    put = client.put("/api/v1/incident-settings/search", json={"auto_declare": True}, headers=token)
    assert put.status_code == 200 and put.json()["overridden"] is True
    burning(client, tokens, tier=2)
    burn(client, tokens, search)
    evaluate_minutes(db, at_now, 4)
    assert [i.services for i in declared(db)] == [("search",)]
    got = client.get("/api/v1/incident-settings/checkout", headers=token).json()
    assert got == {
        "service": "checkout",
        "auto_declare": False,
        "tier_default": False,
        "overridden": False,
    }
    refused = client.put(
        "/api/v1/incident-settings/nope", json={"auto_declare": True}, headers=token
    )
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "service"
    viewer = client.put(
        "/api/v1/incident-settings/search",
        json={"auto_declare": None},
        headers=bearer(tokens[Role.viewer]),
    )
    assert viewer.status_code == 403


def test_the_same_firing_alert_cannot_declare_twice_even_by_hand(db: Database) -> None:
    page = from_slos.FiringPage(1, "checkout", "availability", "page-1h", NOW)
    with db.write() as session:
        from opsloop.services import service as catalog

        catalog.ensure_services(session, ["checkout"], source="test", principal=SYSTEM)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), db.write() as session:
        for _ in range(2):
            incidents.declare(
                session, principal=SYSTEM, title="x", severity=Severity.SEV2, origin=page.origin
            )


def test_still_firing_after_the_set_time_escalates_to_sev1(
    client: TestClient,
    tokens: dict[Role, str],
    db: Database,
    settings: Settings,
    at_now: clock.FrozenClock,
) -> None:
    burning(client, tokens, tier=1)
    evaluate_minutes(db, at_now, 4)
    assert jobs.watch(db, settings, clock.now()) == ([], [])  # declared only just now
    at_now.advance(timedelta(minutes=settings.incident_escalate_after_minutes))
    push(
        client,
        tokens[Role.responder],
        1,
        minutes(clock.now() - timedelta(minutes=60), 60, 980, 1000),
    )
    evaluation.evaluate(db, now=clock.now())
    escalated, _ = jobs.watch(db, settings, clock.now())
    (incident,) = declared(db)
    assert escalated == [incident.key] and incident.severity is Severity.SEV1
    with db.read() as session:
        timeline = lifecycle.timeline_of(session, key=incident.key)
    assert any("SEV2" in e.text and "SEV1" in e.text for e in timeline), [e.text for e in timeline]
    assert jobs.watch(db, settings, clock.now()) == ([], [])


def _outbox_rows(db: Database, event_type: str) -> int:
    with db.read() as session:
        query = select(func.count()).where(OutboxEntry.event_type == event_type)
        return int(session.scalar(query) or 0)


def test_an_overdue_update_is_announced_once_even_by_concurrent_runs(
    db: Database, tmp_path: Path, at_now: clock.FrozenClock
) -> None:
    with db.write() as session:
        channels.create_channel(
            session,
            principal=SYSTEM,
            settings=notify_settings(db, tmp_path),
            name="all",
            kind=ChannelKind.webhook,
            target="http://127.0.0.1:9/hook",
        )
        notify.subscribe(session, principal=SYSTEM, channel="all", patterns=["incident.*"])
    with db.write() as session:
        view = incidents.declare(
            session, principal=SYSTEM, title="Checkout down", severity=Severity.SEV1
        )
        lifecycle.post_update(
            session,
            principal=SYSTEM,
            key=view.key,
            audience=Audience.internal,
            text="Looking into it",
            next_update_at=clock.now() + timedelta(minutes=30),
        )
    at_now.advance(timedelta(minutes=31))
    barrier = threading.Barrier(4)
    announced: list[list[str]] = []

    def run() -> None:
        barrier.wait()
        # Not audited: nothing else serialises the runs, only the claim.
        with db.write(audited=False) as session:
            announced.append(jobs.announce_overdue_updates(session, now=clock.now()))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(key for keys in announced for key in keys) == [view.key]
    assert _outbox_rows(db, "incident.update.overdue") == 1
    assert _outbox_rows(db, "incident.declared") == 1


def test_the_command_shows_and_sets_the_switch(
    client: TestClient,
    tokens: dict[Role, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db: Database,
) -> None:
    create_pushed(client, tokens[Role.approver])
    shown = invoke(capsys, monkeypatch, db, "incident", "auto-declare", "checkout")
    assert shown.returncode == 0 and "do not declare incidents (the tier's default)" in shown.stdout
    turned = invoke(capsys, monkeypatch, db, "incident", "auto-declare", "checkout", "--on")
    assert "checkout: SLO pages declare incidents (set for the service)" in turned.stdout
    both = invoke(capsys, monkeypatch, db, "incident", "auto-declare", "checkout", "--on", "--off")
    assert both.returncode == 2 and "give at most one" in both.stderr
    unknown = invoke(capsys, monkeypatch, db, "incident", "auto-declare", "nope", "--off")
    assert unknown.returncode == 2 and "nope" in unknown.stderr
