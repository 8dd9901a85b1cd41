"""Building services, users, changes and a service in error-budget freeze for the change
tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opsloop.changes import execution, workflow
from opsloop.changes import service as changes
from opsloop.changes.models import Change, ChangeApproval, ChangeHistory, Freeze
from opsloop.changes.rules import ChangeModel, RiskLevel
from opsloop.changes.views import ChangeView
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.db import Database
from opsloop.slo import evaluation
from tests.helpers import bearer, make_user
from tests.incidents.helpers import make_service

__all__ = ["make_service"]

ALICE = Principal(actor="alice", role=Role.responder)
BOB = Principal(actor="bob", role=Role.approver)
CAROL = Principal(actor="carol", role=Role.approver)
ADMIN = Principal(actor="root", role=Role.admin)


def make_people(db: Database) -> None:
    make_user(db, "alice", Role.responder, password="correct horse battery")
    make_user(db, "bob", Role.approver, password="correct horse battery")
    make_user(db, "carol", Role.approver, password="correct horse battery")
    make_user(db, "root", Role.admin, password="correct horse battery")


def raise_change(
    db: Database, *, submit: bool = True, who: Principal = ALICE, **values: Any
) -> ChangeView:
    values.setdefault("title", "Upgrade the database")
    values.setdefault("service", "checkout")
    values.setdefault("category", "database")
    values.setdefault("model", ChangeModel.normal)
    values.setdefault("risk", RiskLevel.medium)
    values.setdefault("rollback_plan", "restore the snapshot")
    with db.write() as session:
        found = changes.create(session, principal=who, **values)
        if submit:
            found = workflow.submit(session, principal=who, key=found.key).change
    return found


def act(db: Database, action: str, key: str, who: Principal = ALICE, **values: Any) -> Any:
    """The workflow or execution step named ``action``, in a transaction of its own."""
    module = execution if hasattr(execution, action) else workflow
    with db.write() as session:
        return getattr(module, action)(session, principal=who, key=key, **values)


def row_counts(db: Database) -> dict[str, int]:
    """Rows of every change table and the audit trail: what a refusal must leave as it was."""
    with db.read() as session:
        found = {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Change, ChangeApproval, ChangeHistory, Freeze)
        }
        found["audit"] = audit.count(session)
    return found


def actions(db: Database, entity_id: str) -> list[str]:
    with db.read() as session:
        flt = audit.AuditFilter(entity_id=entity_id)
        return [r.action for r in audit.iterate(session, flt=flt)]


def freeze_budget(client: TestClient, tokens: dict[Role, str], db: Database) -> int:
    """An SLO of checkout in feature freeze, the way its users get there: pushed minutes at
    0.095 % errors against a 99.9 % objective leave 5 % of the budget (the default policy
    freezes under 10 %), then the evaluation records the state. Returns the SLO's id."""
    body = {"service": "checkout", "name": "availability", "objective": 99.9}
    created = client.post("/api/v1/slos", json=body, headers=bearer(tokens[Role.approver]))
    assert created.status_code == 201, created.text
    slo_id = int(created.json()["id"])
    now = clock.now()
    start = now - timedelta(minutes=10)
    events = [
        {"timestamp": (start + timedelta(minutes=i)).isoformat(), "good": 99905, "total": 100000}
        for i in range(10)
    ]
    pushed = client.post(
        f"/api/v1/slos/{slo_id}/events",
        json={"events": events},
        headers=bearer(tokens[Role.responder]),
    )
    assert pushed.status_code == 200, pushed.text
    evaluation.evaluate(db, now=clock.now())
    return slo_id


def future(hours: float = 24) -> datetime:
    return clock.now() + timedelta(hours=hours)
