"""SLOs created at once for a service the catalog lacks put it there once: every audited
writer queues on the audit lock, so the second sees the first's service. PostgreSQL, where
writers really run at the same time; the interleaving is forced by holding that lock while
they start."""

from __future__ import annotations

import threading
from typing import Any

from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.services import service as catalog
from opsloop.slo import service as slo_service
from tests.services.helpers import actions
from tests.slo.test_concurrency import holding_audit_lock, in_thread, pg, settle

__all__ = ["pg"]


def create_slo(db: Database, name: str) -> Any:
    defn = slo_service.pushed_definition(service="shared", name=name, objective=99.9)
    with db.write() as session:
        return slo_service.apply_definition(session, principal=SYSTEM, defn=defn).outcome


def test_concurrent_slos_of_a_new_service_create_it_once(pg: Database) -> None:
    results: list[Any] = []
    threads: list[threading.Thread] = []
    with holding_audit_lock(pg):
        for index in range(4):
            threads.append(in_thread(lambda i=index: create_slo(pg, f"slo-{i}"), results))
        settle(pg, threads)
    for thread in threads:
        thread.join(timeout=30)
    assert results == ["created"] * 4
    with pg.read() as session:
        assert [s.name for s in catalog.list_services(session)] == ["shared"]
    assert actions(pg, "service") == ["service.create"]
