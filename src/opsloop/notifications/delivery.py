"""The delivery threads: claim due outbox rows, send them outside any transaction, record
the outcome.

They run where the scheduler runs (``opsloop serve``'s process, or its supervising process
with several workers) but not in its job loop: a receiver that hangs for the whole timeout
holds up only the delivery thread that called it, never the API or the SLO evaluation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from datetime import timedelta

import httpx
from sqlalchemy import select

from opsloop.core import clock
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.scheduler import lower_priority
from opsloop.notifications import outbox, recording, senders
from opsloop.notifications.crypto import box_for
from opsloop.notifications.kinds import ChannelKind
from opsloop.notifications.models import Channel, OutboxEntry

log = logging.getLogger("opsloop.notifications")
CLAIM_BATCH = 20
#: How much longer than the send timeout a claim lasts before another thread may take the row.
LEASE_MARGIN = timedelta(seconds=5)


def lease_for(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.notification_timeout_seconds) + LEASE_MARGIN


def deliver_due(db: Database, settings: Settings, client: httpx.Client) -> int:
    """Claim and deliver one batch of due notifications; returns how many were claimed."""
    ids, lease_until = outbox.claim_due(db, limit=CLAIM_BATCH, lease=lease_for(settings))
    if not ids:
        return 0
    box = box_for(settings)
    with db.read() as session:
        rows = list(session.scalars(select(OutboxEntry).where(OutboxEntry.id.in_(ids))))
        wanted = {row.channel_id for row in rows}
        channels = {c.id: c for c in session.scalars(select(Channel).where(Channel.id.in_(wanted)))}
    by_channel: dict[int, list[recording.Claimed]] = defaultdict(list)
    for row in rows:
        by_channel[row.channel_id].append(
            recording.Claimed(row.id, row.webhook_id, row.payload, lease_until)
        )
    for channel_id, claimed in by_channel.items():
        channel = channels.get(channel_id)
        if channel is None:
            continue  # deleted meanwhile, and its outbox rows with it
        if not channel.enabled:
            recording.give_up(db, claimed, f"channel disabled {channel.disabled_reason}".strip())
            continue
        secrets = [box.open(channel.secret)]
        if channel.previous_secret and (
            channel.previous_expires_at is not None and channel.previous_expires_at > clock.now()
        ):
            secrets.append(box.open(channel.previous_secret))
        target = senders.Target(
            channel.id, channel.name, channel.kind, box.open(channel.target), secrets
        )
        # A send may take the whole timeout: one that could not end inside the lease is not
        # started. Its rows go back to pending at once, for this or another thread.
        send_by = lease_until - timedelta(seconds=settings.notification_timeout_seconds)
        units = [[one] for one in claimed] if target.kind is ChannelKind.webhook else [claimed]
        for index, unit in enumerate(units):
            if clock.now() > send_by:
                later = [one for rest in units[index:] for one in rest]
                recording.postpone(db, later, until=clock.now())
                break
            if target.kind is ChannelKind.webhook:
                _deliver_webhook(db, settings, client, target, unit[0])
            else:
                _deliver_chat(db, settings, target, unit, channel.rate_limit_per_minute)
    return len(ids)


def _deliver_webhook(
    db: Database,
    settings: Settings,
    client: httpx.Client,
    target: senders.Target,
    one: recording.Claimed,
) -> None:
    refused = senders.target_refusal(target, settings)
    if refused:
        result = senders.Result(None, refused, None, 0)
    else:
        body = senders.body_of(one.payload, settings.public_url)
        result = senders.send_webhook(
            client, target, webhook_id=one.webhook_id, at=clock.now(), body=body
        )
    recording.finish(db, settings, target.channel_id, [one], result)


def _deliver_chat(
    db: Database,
    settings: Settings,
    target: senders.Target,
    claimed: list[recording.Claimed],
    limit: int,
) -> None:
    refused = senders.target_refusal(target, settings)
    if refused:
        for one in claimed:
            recording.finish(
                db, settings, target.channel_id, [one], senders.Result(None, refused, None, 0)
            )
        return
    slots = recording.take_slots(db, target.channel_id, wanted=len(claimed), limit=limit)
    if slots == 0:
        recording.postpone(db, claimed, until=recording.window_end(db, target.channel_id))
        return
    if slots >= len(claimed):
        for one in claimed:
            title, text = senders.chat_text(one.payload, settings.public_url)
            result = senders.send_chat(target, title=title, text=text)
            recording.finish(db, settings, target.channel_id, [one], result)
        return
    # At the rate limit: everything waiting goes out as one message.
    title, text = senders.digest_text([c.payload for c in claimed], settings.public_url)
    result = senders.send_chat(target, title=title, text=text)
    recording.finish(db, settings, target.channel_id, claimed, result)


class Deliverer:
    """``threads`` delivery threads of this process; :meth:`stop` ends them."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, name=f"opsloop-notify-{n}", daemon=True)
            for n in range(settings.notification_delivery_threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        # A thread in the middle of a send ends when the send times out; wait that long once.
        deadline = time.monotonic() + self.settings.notification_timeout_seconds + 5
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _loop(self) -> None:
        lower_priority()
        timeout = httpx.Timeout(self.settings.notification_timeout_seconds)
        # No redirects: a receiver must not be able to send opsloop to another host.
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            while not self._stop.is_set():
                try:
                    busy = deliver_due(self.db, self.settings, client) > 0
                except Exception:
                    log.exception("notification delivery failed")
                    busy = False
                if not busy:
                    self._stop.wait(self.settings.notification_poll_seconds)


def start_delivery(db: Database, settings: Settings) -> Deliverer:
    deliverer = Deliverer(db, settings)
    deliverer.start()
    return deliverer
