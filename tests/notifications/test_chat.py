"""Chat and e-mail channels through Apprise, to real local receivers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from opsloop.core.auth.roles import SYSTEM
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.notifications import channels, service
from opsloop.notifications.delivery import deliver_due
from opsloop.notifications.kinds import ChannelKind, OutboxState
from opsloop.notifications.models import OutboxEntry
from tests.notifications.receivers import free_port, receiver

pytestmark = pytest.mark.usefixtures("real_now_clock")


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def _chat_channel(db: Database, settings: Settings, url: str, rate: int = 0) -> None:
    with db.write() as session:
        channels.create_channel(
            session, principal=SYSTEM, settings=settings, name="chat",
            kind=ChannelKind.apprise, target=url, rate_limit_per_minute=rate,
        )  # fmt: skip
        service.subscribe(session, principal=SYSTEM, channel="chat", patterns=["slo.alert.*"])


def _publish(db: Database, summary: str) -> int:
    with db.write(audited=False) as session:
        (entry,) = service.publish(
            session, event_type="slo.alert.firing", summary=summary, data={}, link="/slos/7"
        )
    return entry


def _states(db: Database) -> list[OutboxState]:
    with db.read() as session:
        return [row.state for row in session.query(OutboxEntry).order_by(OutboxEntry.id)]


def test_an_email_reaches_a_local_smtp_server_through_a_mailto_url(
    db: Database, nsettings: Settings, http: httpx.Client, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    url = f"mailto://127.0.0.1:{port}?from=opsloop@example.com&to=oncall@example.com"
    _chat_channel(db, nsettings, url)
    _publish(db, "api availability is burning its budget")
    assert deliver_due(db, nsettings, http) == 1
    (message,) = mailbox.messages
    assert message.rcpt_tos == ["oncall@example.com"]
    text = message.content.decode()
    assert "slo.alert.firing" in text
    assert "api availability is burning its budget" in text
    assert "http://127.0.0.1:8080/slos/7" in text
    assert _states(db) == [OutboxState.delivered]


def test_an_unreachable_smtp_server_is_a_failed_attempt(
    db: Database, nsettings: Settings, http: httpx.Client
) -> None:
    url = f"mailto://127.0.0.1:{free_port()}?from=opsloop@example.com&to=oncall@example.com"
    _chat_channel(db, nsettings, url)
    _publish(db, "x")
    deliver_due(db, nsettings, http)
    with db.read() as session:
        row = session.query(OutboxEntry).one()
    assert row.state is OutboxState.pending and row.attempts == 1 and row.last_error


def test_a_burst_over_the_rate_limit_goes_out_as_one_message(
    db: Database, nsettings: Settings, http: httpx.Client
) -> None:
    with receiver(200) as chat:
        # Apprise's JSON service posts to our receiver as a chat service would be posted to.
        _chat_channel(db, nsettings, chat.url.replace("http://", "json://"), rate=2)
        _publish(db, "first")
        deliver_due(db, nsettings, http)
        for n in range(5):
            _publish(db, f"burst {n}")
        deliver_due(db, nsettings, http)
        assert len(chat.received) == 2  # one message, then one for the five
        digest = json.loads(chat.received[1].body)
        for n in range(5):
            assert f"burst {n}" in digest["message"]
        assert "5 notifications" in digest["title"]
        # The minute is used up: what comes now waits for the next one.
        _publish(db, "late")
        deliver_due(db, nsettings, http)
        assert len(chat.received) == 2
    states = _states(db)
    assert states[:6] == [OutboxState.delivered] * 6
    assert states[6] is OutboxState.pending
