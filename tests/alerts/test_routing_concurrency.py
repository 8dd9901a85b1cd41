"""Several routers on PostgreSQL (replicas) routing one storm at once: each alert is decided
once (rows claimed with SKIP LOCKED) and the cause declares exactly one incident (the cause is
read again under the declaration's lock)."""

from __future__ import annotations

import threading

from opsloop.alerts import router
from opsloop.core.db import Database
from tests.alerts.routing_helpers import (
    add_rule,
    incidents,
    linked_counts,
    receive_in_batches,
    storm,
    unrouted,
)
from tests.slo.test_concurrency import pg

__all__ = ["pg"]
ALERTS = 3000
THREADS = 4


def test_concurrent_routers_declare_one_incident(pg: Database) -> None:
    add_rule(pg, 'severity="critical"', severity="SEV2")
    receive_in_batches(pg, storm(ALERTS))
    barrier = threading.Barrier(THREADS)
    outcomes: list[router.Outcome] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            outcomes.append(router.route_pending(pg, batch=100))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert [f"{type(e).__name__}: {e}" for e in errors] == []
    (incident,) = incidents(pg)
    assert linked_counts(pg) == {incident.id: ALERTS}
    assert unrouted(pg) == 0
    # Every alert decided by exactly one router, and more than one router did work.
    assert sum(o.routed for o in outcomes) == ALERTS
    assert sum(len(o.declared) for o in outcomes) == 1
    assert sum(1 for o in outcomes if o.routed) > 1
