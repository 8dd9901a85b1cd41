"""A server killed mid-delivery: after a restart the notification is delivered exactly once,
with the webhook id it was first sent with. A real ``opsloop serve`` on both databases."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.notifications import channels, service
from opsloop.notifications.kinds import ChannelKind, OutboxState
from opsloop.notifications.models import OutboxEntry
from tests.helpers import BIN
from tests.notifications.receivers import HANG, Receiver, free_port, notify_settings, receiver

pytestmark = pytest.mark.slow

KEY = "crash-test-notification-key-0123456789"


@contextmanager
def serving(
    tmp_path: Path, db: Database, name: str, *args: str
) -> Iterator[subprocess.Popen[bytes]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSLOOP_", "PROMETHEUS_"))}
    env.update(
        OPSLOOP_DATA_DIR=str(tmp_path),
        OPSLOOP_PORT=str(port),
        OPSLOOP_DATABASE_URL=db.url,
        OPSLOOP_ADMIN_PASSWORD="crash-test-pw",
        OPSLOOP_NOTIFICATION_KEY=KEY,
        OPSLOOP_NOTIFICATIONS_ALLOW_PRIVATE_TARGETS="true",
        OPSLOOP_NOTIFICATION_TIMEOUT_SECONDS="3",
        OPSLOOP_NOTIFICATION_POLL_SECONDS="0.2",
        OPSLOOP_NOTIFICATION_RETRY_BASE_SECONDS="1",
    )
    log = (tmp_path / f"{name}.log").open("w")
    server = subprocess.Popen([BIN / "opsloop", "serve", *args], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / f"{name}.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("opsloop serve did not become ready")
        yield server
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        log.close()


def _wait_for(hook: Receiver, count: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while len(hook.received) < count and time.monotonic() < deadline:
        time.sleep(0.1)


def test_a_notification_survives_a_kill_9_mid_delivery(db: Database, tmp_path: Path) -> None:
    settings = notify_settings(db, tmp_path, notification_key=KEY)
    port = free_port()
    with serving(tmp_path, db, "first") as server, receiver(HANG, port=port) as hanging:
        with db.write() as session:
            channels.create_channel(
                session, principal=SYSTEM, settings=settings, name="hook",
                kind=ChannelKind.webhook, target=f"http://127.0.0.1:{port}/hook",
            )  # fmt: skip
            service.subscribe(session, principal=SYSTEM, channel="hook", patterns=["*"])
        with db.write(audited=False) as session:
            (entry,) = service.publish(session, event_type="slo.alert.firing", summary="s", data={})
        _wait_for(hanging, 1, 30)
        assert len(hanging.received) == 1, "the server never started the delivery"
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        first_id = hanging.ids()[0]
    with db.read() as session:
        row = session.get(OutboxEntry, entry)
        assert row is not None and row.state is OutboxState.sending  # killed holding the lease
    with receiver(200, port=port) as answering, serving(tmp_path, db, "second"):
        _wait_for(answering, 1, 60)
        time.sleep(3)  # any duplicate would come now
        assert answering.ids() == [first_id]
    with db.read() as session:
        row = session.scalars(select(OutboxEntry)).one()
        assert row.state is OutboxState.delivered and row.webhook_id == first_id


def test_with_several_workers_the_supervising_process_delivers(
    db: Database, tmp_path: Path
) -> None:
    settings = notify_settings(db, tmp_path, notification_key=KEY)
    with receiver(200) as hook, serving(tmp_path, db, "workers", "--workers", "2"):
        with db.write() as session:
            channels.create_channel(
                session, principal=SYSTEM, settings=settings, name="hook",
                kind=ChannelKind.webhook, target=hook.url,
            )  # fmt: skip
            service.subscribe(session, principal=SYSTEM, channel="hook", patterns=["*"])
        with db.write(audited=False) as session:
            service.publish(session, event_type="slo.alert.firing", summary="s", data={})
        _wait_for(hook, 1, 60)  # the background threads start a few seconds after the workers
        time.sleep(2)
        assert len(hook.received) == 1
    log = (tmp_path / "workers.log").read_text()
    assert "Traceback" not in log
