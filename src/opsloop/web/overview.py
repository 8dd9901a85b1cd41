"""The overview: how the operated services are doing now, and what changed recently."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from opsloop.core import migrate
from opsloop.core.audit import service as audit
from opsloop.core.audit import verification
from opsloop.core.audit.chain import Verification
from opsloop.core.auth import service as auth
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.db import Database
from opsloop.slo import service as slo_service
from opsloop.web.audit_pages import newest_first
from opsloop.web.routes import DB, Active, may, render

if TYPE_CHECKING:
    from opsloop.slo.models import SLO

router = APIRouter(include_in_schema=False)

RECENT_ACTIVITY = 8
# Policy states from the worst to the best, as the overview lists them.
STATE_ORDER = ["freeze", "mitigate", "optimize", "monitor", "no_data"]


@dataclass
class SLOHealth:
    slo: SLO
    status: dict[str, Any] | None

    @property
    def remaining(self) -> float | None:
        budget = (self.status or {}).get("budget")
        return budget["remaining"] if budget else None

    @property
    def firing(self) -> list[dict[str, Any]]:
        return [a for a in (self.status or {}).get("alerts", []) if a.get("firing")]


@dataclass
class PolicyGroup:
    state: str
    services: set[str] = field(default_factory=set)
    count: int = 0


def slo_health(session: Session) -> list[SLOHealth]:
    """Every SLO with its last evaluation, the least budget left first, no data last."""
    rows = slo_service.list_slos(session)
    latest = slo_service.latest_results(session, slo_ids=[s.id for s in rows])
    items = [SLOHealth(s, latest.get(s.id)) for s in rows]
    return sorted(
        items,
        key=lambda h: (h.remaining is None, h.remaining if h.remaining is not None else 0.0),
    )


def policy_groups(items: list[SLOHealth]) -> list[PolicyGroup]:
    groups: dict[str, PolicyGroup] = {}
    for item in items:
        group = groups.setdefault(item.slo.policy_state, PolicyGroup(item.slo.policy_state))
        group.count += 1
        group.services.add(item.slo.service)
    rank = {state: i for i, state in enumerate(STATE_ORDER)}
    return sorted(groups.values(), key=lambda g: (rank.get(g.state, len(rank)), g.state))


def chain_status(db: Database) -> Verification:
    """The one call that asks the audit service how the chain stands (for the overview):
    incremental from the last verified checkpoint, so a load hashes only new records."""
    return verification.chain_status(db)


def _audit_context(session: Session, active: ActiveSession) -> dict[str, Any]:
    if not may(active, audit.READ_ROLE):
        return {}
    recent, _ = newest_first(
        session, audit.AuditFilter(), control_plane=True, limit=RECENT_ACTIVITY
    )
    head_seq, head_hash = audit.head(session)
    return {
        "recent": recent,
        "head_seq": head_seq,
        "head_hash": head_hash,
        "audit_count": audit.count(session),
    }


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, db: DB, active: Active) -> Response:
    with db.read() as session:
        items = slo_health(session)
        counts = auth.counts(session)
        audit_context = _audit_context(session, active)
    if audit_context:
        # After the read: verifying may advance the checkpoint in a write of its own.
        audit_context["chain"] = chain_status(db)
    firing = [(item, alert) for item in items for alert in item.firing]
    return render(
        request,
        "overview.html",
        active,
        items=items,
        firing=firing,
        groups=policy_groups(items),
        counts=counts,
        backend=db.dialect,
        schema=migrate.current_revision(db.engine),
        **audit_context,
    )
