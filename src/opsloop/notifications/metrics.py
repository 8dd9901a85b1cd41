"""Notification series on opsloop's ``/metrics``: per channel, and the outbox by state."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from opsloop.core.db import Database
from opsloop.notifications.kinds import OutboxState
from opsloop.notifications.models import Channel, OutboxEntry


class NotificationCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        labels = ["channel", "kind"]
        last = GaugeMetricFamily(
            "opsloop_notification_channel_last_delivery_timestamp_seconds",
            "When the channel last received a notification.",
            labels=labels,
        )
        failures = GaugeMetricFamily(
            "opsloop_notification_channel_failures",
            "Failed delivery attempts since the channel's last delivery.",
            labels=labels,
        )
        latency = GaugeMetricFamily(
            "opsloop_notification_channel_latency_seconds",
            "How long the channel's last delivery took.",
            labels=labels,
        )
        enabled = GaugeMetricFamily(
            "opsloop_notification_channel_enabled", "1 if the channel is enabled.", labels=labels
        )
        queued = GaugeMetricFamily(
            "opsloop_notification_outbox", "Notifications in the outbox by state.", labels=["state"]
        )
        with self.db.read() as session:
            channels = session.execute(
                select(
                    Channel.name,
                    Channel.kind,
                    Channel.enabled,
                    Channel.last_delivery_at,
                    Channel.last_latency_ms,
                    Channel.failure_count,
                )
            ).all()
            by_state = select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)
            counts = {state: count for state, count in session.execute(by_state)}
        for name, kind, is_enabled, at, latency_ms, failed in channels:
            ids = [name, kind.value]
            enabled.add_metric(ids, 1 if is_enabled else 0)
            failures.add_metric(ids, failed)
            if at is not None:
                last.add_metric(ids, at.timestamp())
            if latency_ms is not None:
                latency.add_metric(ids, latency_ms / 1000)
        for state in OutboxState:
            queued.add_metric([state.value], counts.get(state, 0))
        yield from (last, failures, latency, enabled, queued)
