"""Building services, users and incidents for the incident tests."""

from __future__ import annotations

from typing import Any

from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import SYSTEM, Principal, Role
from opsloop.core.db import Database
from opsloop.incidents import service as incidents
from opsloop.incidents.rules import Severity
from opsloop.incidents.views import IncidentView
from opsloop.services import service as catalog
from opsloop.services.entries import ServiceEntry
from tests.helpers import make_user

RESPONDER = Principal(actor="responder", role=Role.responder)
VIEWER = Principal(actor="viewer", role=Role.viewer)


def make_service(db: Database, name: str, owner_team: str | None = None) -> None:
    with db.write() as session:
        catalog.create_service(
            session, principal=SYSTEM, entry=ServiceEntry(name=name, owner_team=owner_team)
        )


def make_people(db: Database, *names: str) -> None:
    for name in names:
        make_user(db, name, Role.responder)


def declare(db: Database, title: str = "Checkout errors", **values: Any) -> IncidentView:
    values.setdefault("severity", Severity.SEV2)
    with db.write() as session:
        return incidents.declare(session, principal=RESPONDER, title=title, **values)


def actions(db: Database, entity_id: str) -> list[str]:
    with db.read() as session:
        flt = audit.AuditFilter(entity_id=entity_id)
        return [r.action for r in audit.iterate(session, flt=flt)]
