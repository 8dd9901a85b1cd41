"""Escalation: one outbox event per alert instance past its response time and not
acknowledged, never twice, also with several job runs at once on PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from opsloop.alerts import escalation, ingestion, standard
from opsloop.alerts import service as alerts
from opsloop.alerts.alertmanager_payload import WebhookIn
from opsloop.alerts.models import Alert
from opsloop.app import JOB_FACTORIES
from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM, Principal, Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.notifications import channels
from opsloop.notifications import service as notifications
from opsloop.notifications.kinds import ChannelKind
from opsloop.notifications.models import OutboxEntry
from tests.alerts.payloads import alert, webhook
from tests.notifications.receivers import notify_settings
from tests.slo.test_concurrency import pg

__all__ = ["pg"]
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SENDER = Principal(actor="alertmanager", role=Role.responder)
RULES = standard.standard({})


def subscribe_all(db: Database, tmp_path: Path) -> None:
    with db.write() as session:
        channels.create_channel(
            session, principal=SYSTEM, settings=notify_settings(db, tmp_path), name="hook",
            kind=ChannelKind.webhook, target="http://127.0.0.1:9/hook",
        )  # fmt: skip
        notifications.subscribe(session, principal=SYSTEM, channel="hook", patterns=["alert.*"])


def receive(db: Database, *alerts_in: dict[str, object]) -> None:
    payload = WebhookIn.model_validate(webhook(*alerts_in))
    delivery = ingestion.Delivery(payload, SENDER, "req-1", ("service", "job"), RULES)
    with db.write(audited=False) as session:
        ingestion.receive(session, delivery)


def escalations(db: Database) -> list[int]:
    with db.read() as session:
        rows = session.scalars(
            select(OutboxEntry.payload).where(OutboxEntry.event_type == alerts.ESCALATION)
        )
        return sorted(json.loads(p)["data"]["alert"] for p in rows)


def ids_by_fingerprint(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {f: i for f, i in session.execute(select(Alert.fingerprint, Alert.id))}


def test_only_unacknowledged_firing_alerts_past_their_target_escalate_once(
    db: Database, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    subscribe_all(db, tmp_path)
    frozen_clock.current = START
    starts = "2026-11-02T09:00:00Z"
    receive(
        db,
        alert("crit", starts=starts, labels={"severity": "critical"}),  # by 09:05
        alert("high", starts=starts, labels={"severity": "high"}),  # by 09:15
        alert("acked", starts=starts, labels={"severity": "critical"}),
        alert("gone", starts=starts, labels={"severity": "critical"}),
    )
    receive(db, {**alert("gone", starts=starts), "status": "resolved", "endsAt": starts})
    ids = ids_by_fingerprint(db)
    with db.write() as session:
        alerts.acknowledge(session, principal=SENDER, alert_id=ids["acked"])
    frozen_clock.current = START + timedelta(minutes=4, seconds=59)
    assert escalation.escalate_due(db, clock.now()) == []
    frozen_clock.current = START + timedelta(minutes=5)
    assert escalation.escalate_due(db, clock.now()) == [ids["crit"]]
    assert escalation.escalate_due(db, clock.now()) == []
    frozen_clock.current = START + timedelta(minutes=20)
    assert escalation.escalate_due(db, clock.now()) == [ids["high"]]
    assert escalation.escalate_due(db, clock.now()) == []
    assert escalations(db) == sorted([ids["crit"], ids["high"]])
    with db.read() as session:
        shown = alerts.get_alert(session, alert_id=ids["crit"])
    assert shown.escalated_at == START + timedelta(minutes=5)


def test_low_severity_waits_for_the_next_business_day() -> None:
    friday_evening = datetime(2026, 11, 6, 18, 30, tzinfo=UTC)
    monday_nine = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
    assert standard.target_for(RULES, "low").respond_by(friday_evening) == monday_nine
    tuesday = datetime(2026, 11, 3, 7, 0, tzinfo=UTC)
    assert standard.target_for(RULES, "low").respond_by(tuesday) == datetime(
        2026, 11, 4, 9, 0, tzinfo=UTC
    )
    assert standard.target_for(RULES, "").within == timedelta(hours=1)  # medium
    custom = standard.standard({"critical": "2m page", "info": "3h ticket"})
    assert custom["critical"].within == timedelta(minutes=2)
    assert custom["info"].action == "ticket"


def test_concurrent_job_runs_escalate_each_alert_once(
    pg: Database, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    subscribe_all(pg, tmp_path)
    frozen_clock.current = START
    receive(
        pg,
        *[
            alert(f"a{n}", starts="2026-11-02T09:00:00Z", labels={"severity": "critical"})
            for n in range(40)
        ],
    )
    frozen_clock.current = START + timedelta(hours=1)
    barrier = threading.Barrier(6)
    claimed: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            claimed.extend(escalation.escalate_due(pg, clock.now()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(claimed) == sorted(set(claimed))
    assert len(claimed) == 40
    assert len(escalations(pg)) == 40


def test_alerts_link_to_an_incident_once(db: Database) -> None:
    on_x = {"service": "x"}
    receive(
        db,
        alert("a", labels=on_x),
        alert("b"),
        alert("c", starts="2026-11-02T08:50:00Z", labels=on_x),
    )
    receive(db, {**alert("a", labels=on_x), "status": "resolved", "endsAt": "2026-11-02T09:00:00Z"})
    ids = ids_by_fingerprint(db)
    with db.write(audited=False) as session:
        assert alerts.link_incident(session, alert_ids=[ids["a"], ids["c"]], incident_id=7) == [
            ids["a"],
            ids["c"],
        ]
        assert alerts.link_incident(session, alert_ids=[ids["a"], ids["b"]], incident_id=8) == [
            ids["b"]
        ]
    with db.read() as session:
        linked = alerts.alerts_of_incident(session, incident_id=7)
        assert [a.fingerprint for a in linked] == ["c", "a"]  # oldest first
        assert [a.fingerprint for a in alerts.open_alerts(session, service="x")] == ["c"]


def test_the_escalation_job_runs_in_the_scheduler(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, scheduler_enabled=False)
    names = [job.name for factory in JOB_FACTORIES for job in factory(settings)]
    assert escalation.ESCALATION_JOB in names
