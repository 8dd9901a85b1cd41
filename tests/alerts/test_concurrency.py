"""Concurrent webhooks on PostgreSQL: groups of different workers resolving the same instances
in opposite orders all commit (rows are locked in key order), each instance stored once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from opsloop.alerts import ingestion
from opsloop.alerts.alertmanager_payload import WebhookIn
from opsloop.alerts.models import Alert, AlertStatus
from opsloop.core.db import Database
from tests.alerts.payloads import alert, webhook
from tests.alerts.test_escalation import RULES, SENDER, receive
from tests.slo.test_concurrency import pg

__all__ = ["pg"]
INSTANCES = 300
THREADS = 4
ROUNDS = 5


def test_opposite_orders_never_deadlock(pg: Database) -> None:
    firing = [alert(f"fp{n:04d}") for n in range(INSTANCES)]
    receive(pg, *firing)
    resolved = [{**a, "status": "resolved", "endsAt": "2026-11-02T09:00:00Z"} for a in firing]
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def run(index: int) -> None:
        ordered = resolved if index % 2 else list(reversed(resolved))
        payload = WebhookIn.model_validate(webhook(*ordered))
        delivery = ingestion.Delivery(payload, SENDER, f"req-{index}", ("service",), RULES)
        try:
            for _ in range(ROUNDS):
                barrier.wait(timeout=30)
                with pg.write(audited=False) as session:
                    ingestion.receive(session, delivery)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [type(e).__name__ for e in errors] == []
    with pg.read() as session:
        rows = session.execute(select(Alert.status, func.count()).group_by(Alert.status))
        counts = {status: count for status, count in rows}
    assert counts == {AlertStatus.resolved: INSTANCES}
