"""Delivery to real receivers on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.notifications import channels, service
from opsloop.notifications.delivery import LEASE_MARGIN, deliver_due
from opsloop.notifications.kinds import ChannelKind, OutboxState
from opsloop.notifications.models import Channel, OutboxEntry
from tests.notifications.receivers import HANG, receiver

pytestmark = pytest.mark.usefixtures("real_now_clock")


def make_channel(
    db: Database, settings: Settings, url: str, name: str = "hook", **kw: object
) -> str:
    with db.write() as session:
        _, secret = channels.create_channel(
            session,
            principal=SYSTEM,
            settings=settings,
            name=name,
            kind=kw.pop("kind", ChannelKind.webhook),
            target=url,
            **kw,  # type: ignore[arg-type]
        )
        service.subscribe(session, principal=SYSTEM, channel=name, patterns=["slo.*"])
    return secret or ""


def publish_one(db: Database, summary: str = "burning", **kw: object) -> list[int]:
    with db.write(audited=False) as session:
        return service.publish(
            session,
            event_type="slo.alert.firing",
            summary=summary,
            data={"slo": "api/avail"},
            link="/slos/1",
            **kw,  # type: ignore[arg-type]
        )


def outbox_row(db: Database, entry_id: int) -> OutboxEntry:
    with db.read() as session:
        row = session.get(OutboxEntry, entry_id)
        assert row is not None
        return row


def channel_row(db: Database, name: str = "hook") -> Channel:
    with db.read() as session:
        row = session.scalar(select(Channel).where(Channel.name == name))
        assert row is not None
        return row


def test_500_twice_then_200_is_delivered_once_after_backoff(
    db: Database, nsettings: Settings, http: httpx.Client, real_now_clock: clock.FrozenClock
) -> None:
    with receiver(500, 500, 200) as hook:
        secret = make_channel(db, nsettings, hook.url)
        (entry,) = publish_one(db)
        for _ in range(2):
            assert deliver_due(db, nsettings, http) == 1
            row = outbox_row(db, entry)
            assert row.state is OutboxState.pending and row.last_status == 500
            # Not due again before the backoff has passed.
            assert row.next_attempt_at > clock.now()
            assert deliver_due(db, nsettings, http) == 0
            real_now_clock.advance(timedelta(seconds=2))  # the cap: full jitter is below it
        assert deliver_due(db, nsettings, http) == 1
        real_now_clock.advance(timedelta(seconds=10))
        assert deliver_due(db, nsettings, http) == 0
    row = outbox_row(db, entry)
    assert row.state is OutboxState.delivered and row.attempts == 3
    bodies = hook.verified(secret)
    assert len(set(hook.ids())) == 1 and len(bodies) == 3  # the same webhook-id each time
    assert bodies[0]["type"] == "slo.alert.firing"
    assert bodies[0]["data"]["summary"] == "burning"
    assert bodies[0]["data"]["link"] == "http://127.0.0.1:8080/slos/1"
    channel = channel_row(db)
    assert channel.failure_count == 0 and channel.last_delivery_at is not None
    assert channel.last_latency_ms is not None


def test_a_receiver_that_never_answers_is_dead_lettered_after_max_attempts(
    db: Database, tmp_path: object, http: httpx.Client, real_now_clock: clock.FrozenClock
) -> None:
    from tests.notifications.receivers import notify_settings

    settings = notify_settings(db, tmp_path, notification_timeout_seconds=0.3)  # type: ignore[arg-type]
    with (
        receiver(HANG) as hook,
        httpx.Client(timeout=httpx.Timeout(0.3)) as short,
    ):
        make_channel(db, settings, hook.url)
        (entry,) = publish_one(db)
        for _ in range(3):
            assert deliver_due(db, settings, short) == 1
            real_now_clock.advance(timedelta(seconds=3))
        assert deliver_due(db, settings, short) == 0
    row = outbox_row(db, entry)
    assert row.state is OutboxState.dead and row.attempts == 3
    assert "Timeout" in row.last_error
    assert channel_row(db).failure_count == 3


def test_410_disables_the_channel_and_dead_letters_what_waits(
    db: Database, nsettings: Settings, http: httpx.Client
) -> None:
    with receiver(410) as hook:
        make_channel(db, nsettings, hook.url)
        first, second = publish_one(db, "one")[0], publish_one(db, "two")[0]
        with db.write(audited=False) as session:  # the second one is not due yet
            row = session.get(OutboxEntry, second)
            assert row is not None
            row.next_attempt_at = clock.now() + timedelta(hours=1)
        deliver_due(db, nsettings, http)
        assert len(hook.received) == 1
    channel = channel_row(db)
    assert channel.enabled is False and "410" in channel.disabled_reason
    assert outbox_row(db, first).state is OutboxState.dead
    assert outbox_row(db, first).last_status == 410
    assert outbox_row(db, second).state is OutboxState.dead
    assert "410" in outbox_row(db, second).last_error
    assert publish_one(db, "three") == []  # a disabled channel gets nothing new


@pytest.mark.parametrize("header", ["120", "HTTP-DATE"])
def test_retry_after_is_honoured(
    db: Database, nsettings: Settings, http: httpx.Client, header: str
) -> None:
    from email.utils import format_datetime

    settings = nsettings.model_copy(update={"notification_retry_cap_seconds": 3600.0})
    value = (
        header
        if header != "HTTP-DATE"
        else format_datetime(clock.now() + timedelta(seconds=120), usegmt=True)
    )
    with receiver((503, {"Retry-After": value})) as hook:
        make_channel(db, settings, hook.url)
        (entry,) = publish_one(db)
        deliver_due(db, settings, http)
    row = outbox_row(db, entry)
    assert row.state is OutboxState.pending
    wait = (row.next_attempt_at - clock.now()).total_seconds()
    assert 119 <= wait <= 121, wait


def test_during_rotation_both_signatures_verify(
    db: Database, nsettings: Settings, http: httpx.Client, real_now_clock: clock.FrozenClock
) -> None:
    from standardwebhooks import Webhook

    with receiver(200) as hook:
        old = make_channel(db, nsettings, hook.url)
        with db.write() as session:
            _, new = channels.rotate_secret(
                session, principal=SYSTEM, settings=nsettings, ref="hook"
            )
        publish_one(db)
        deliver_due(db, nsettings, http)
        (received,) = hook.received
        assert len(received.headers["webhook-signature"].split(" ")) == 2
        for secret in (old, new):
            Webhook(secret).verify(received.body, received.headers)
        # After the grace period only the new secret signs.
        real_now_clock.advance(timedelta(hours=24, seconds=1))
        clock_now = clock.now()
        publish_one(db)
        deliver_due(db, nsettings, http)
        assert clock_now == clock.now()
        last = hook.received[-1]
        assert len(last.headers["webhook-signature"].split(" ")) == 1
        assert last.headers["webhook-signature"].startswith("v1,")


def test_publish_routes_by_pattern_and_selectors_in_the_callers_transaction(
    db: Database, nsettings: Settings
) -> None:
    url = "http://127.0.0.1:9/hook"
    with db.write() as session:
        for name in ("all", "team-a", "svc", "tier1", "policy"):
            channels.create_channel(
                session,
                principal=SYSTEM,
                settings=nsettings,
                name=name,
                kind=ChannelKind.webhook,
                target=url,
            )
        service.subscribe(session, principal=SYSTEM, channel="all", patterns=["*"])
        service.subscribe(session, principal=SYSTEM, channel="team-a", patterns=["*"], team="a")
        service.subscribe(
            session, principal=SYSTEM, channel="svc", patterns=["slo.alert.*"], service="api"
        )
        service.subscribe(session, principal=SYSTEM, channel="tier1", patterns=["slo.*"], tier=1)
        service.subscribe(
            session, principal=SYSTEM, channel="policy", patterns=["slo.policy.changed"]
        )
    with db.write(audited=False) as session:
        ids = service.publish(
            session,
            event_type="slo.alert.firing",
            summary="s",
            data={},
            service="api",
            team="a",
            tier=2,
        )
    with db.read() as session:
        names = {
            name
            for (name,) in session.execute(
                select(Channel.name).join(OutboxEntry).where(OutboxEntry.id.in_(ids))
            )
        }
        payload = json.loads(session.get(OutboxEntry, ids[0]).payload)  # type: ignore[union-attr]
    assert names == {"all", "team-a", "svc"}
    assert payload["data"] == {
        "summary": "s",
        "link": None,
        "service": "api",
        "team": "a",
        "tier": 2,
    }
    # Rolled back with the event it announces.
    with pytest.raises(RuntimeError), db.write(audited=False) as session:
        service.publish(session, event_type="slo.policy.changed", summary="x", data={})
        raise RuntimeError
    with db.read() as session:
        count = len(session.scalars(select(OutboxEntry.id)).all())
    assert count == len(ids)
    with db.write(audited=False) as session:
        batch = [
            service.Event("slo.alert.resolved", "r", {}, tier=1),
            service.Event("slo.policy.changed", "p", {}),
        ]
        assert len(service.publish_many(session, batch)) == 4  # all+tier1, all+policy


def test_a_send_that_could_not_end_inside_the_lease_is_not_started(
    db: Database, nsettings: Settings, http: httpx.Client, real_now_clock: clock.FrozenClock
) -> None:
    # Each send takes (as the clock sees it) longer than the lease leaves after a full timeout.
    slow = LEASE_MARGIN + timedelta(seconds=1)
    with receiver(200, on_request=lambda: real_now_clock.advance(slow)) as hook:
        make_channel(db, nsettings, hook.url)
        entries = [publish_one(db, f"n{n}")[0] for n in range(3)]
        assert deliver_due(db, nsettings, http) == 3
        assert len(hook.received) == 1
        first, *rest = (outbox_row(db, e) for e in entries)
        assert first.state is OutboxState.delivered
        for row in rest:
            assert row.state is OutboxState.pending and row.attempts == 0
            assert row.lease_until is None and row.next_attempt_at <= clock.now()
        assert deliver_due(db, nsettings, http) == 2
        assert len(hook.received) == 2
