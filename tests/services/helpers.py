"""Building SLOs, teams and services for the catalog tests."""

from __future__ import annotations

from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.slo import service as slo_service


def make_slo(db: Database, service: str, name: str = "availability") -> int:
    defn = slo_service.pushed_definition(service=service, name=name, objective=99.9)
    with db.write() as session:
        return slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id


def audit_count(db: Database) -> int:
    with db.read() as session:
        return audit.count(session)


def actions(db: Database, entity_type: str | None = None) -> list[str]:
    with db.read() as session:
        flt = audit.AuditFilter(entity_type=entity_type)
        return [r.action for r in audit.iterate(session, flt=flt)]
