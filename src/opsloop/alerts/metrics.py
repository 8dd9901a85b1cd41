"""Alert series on opsloop's ``/metrics``: what is firing now, by service and severity, and how
much of it is past its response time without an acknowledgement. Read from the database at
scrape time, so every replica reports the same numbers."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select

from opsloop.alerts.models import Alert, AlertStatus
from opsloop.core import clock
from opsloop.core.db import Database


class AlertCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        labels = ["service", "severity"]
        firing = GaugeMetricFamily(
            "opsloop_alerts_firing", "Alert instances firing now.", labels=labels
        )
        overdue = GaugeMetricFamily(
            "opsloop_alerts_unacknowledged_overdue",
            "Firing alert instances past their response time and not acknowledged.",
            labels=labels,
        )
        late = (Alert.acked_at.is_(None)) & (Alert.respond_by < clock.now())
        query = (
            select(
                Alert.service,
                Alert.severity,
                func.count(),
                func.sum(case((late, 1), else_=0)),
            )
            .where(Alert.status == AlertStatus.firing)
            .group_by(Alert.service, Alert.severity)
        )
        with self.db.read() as session:
            rows = session.execute(query).all()
        for service, severity, count, past in rows:
            ids = [service or "", severity]
            firing.add_metric(ids, count)
            overdue.add_metric(ids, int(past or 0))
        yield from (firing, overdue)
