"""Error-budget policies per service: read, set (audited) and the state change management
checks. The policy rules themselves are :mod:`opsloop.slo.policy`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.slo import service as slo_service
from opsloop.slo.models import ServicePolicy
from opsloop.slo.policy import DEFAULT_POLICY, ErrorBudgetPolicy


def policy_for(session: Session, *, service: str) -> ErrorBudgetPolicy:
    row = session.get(ServicePolicy, service)
    if row is None:
        return DEFAULT_POLICY
    return ErrorBudgetPolicy.from_config({"tiers": json.loads(row.tiers)})


def policies_for(session: Session, *, services: Iterable[str]) -> dict[str, ErrorBudgetPolicy]:
    """The policy of each service (:func:`policy_for`), all in one query."""
    wanted = sorted(set(services))
    found = dict.fromkeys(wanted, DEFAULT_POLICY)
    if wanted:
        query = select(ServicePolicy.service, ServicePolicy.tiers)
        for service, tiers in session.execute(query.where(ServicePolicy.service.in_(wanted))):
            found[service] = ErrorBudgetPolicy.from_config({"tiers": json.loads(tiers)})
    return found


def policy_config(policy: ErrorBudgetPolicy) -> list[dict[str, Any]]:
    return [
        {
            "threshold": t.threshold,
            "state": t.state,
            "action": t.action,
            "approver": t.approver,
            "blocks_changes": t.blocks_changes,
        }
        for t in policy.tiers
    ]


def set_policy(
    session: Session, *, principal: Principal, service: str, config: dict[str, Any]
) -> ErrorBudgetPolicy:
    require(principal, Role.admin)
    try:
        policy = ErrorBudgetPolicy.from_config(config)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(f"policy: {exc}", field="tiers") from None
    row = session.get(ServicePolicy, service)
    before = {"tiers": json.loads(row.tiers)} if row else {"tiers": "default"}
    tiers = policy_config(policy)
    if row is None:
        session.add(ServicePolicy(service=service, tiers=json.dumps(tiers), updated_at=clock.now()))
    else:
        row.tiers, row.updated_at = json.dumps(tiers), clock.now()
    audit.record(
        session,
        principal=principal,
        action="slo.policy.set",
        entity_type="service",
        entity_id=service,
        before=before,
        after={"tiers": tiers},
    )
    return policy


def service_state(session: Session, *, service: str) -> dict[str, Any]:
    """The worst policy state among a service's SLOs: what change management checks."""
    members = slo_service.list_slos(session, service=service)
    if not members:
        raise NotFound(f"no SLOs for service {service!r}", field="service")
    policy = policy_for(session, service=service)
    order = {state: rank for rank, state in enumerate(policy.states)}
    known = [s for s in members if s.policy_state in order]
    worst = max(known, key=lambda s: order[s.policy_state]) if known else None
    state = worst.policy_state if worst else "no_data"
    tier = policy.tier_for(state) if worst else None
    return {
        "service": service,
        "state": state,
        "blocks_changes": policy.blocks_changes(state),
        "approver": tier.approver if tier else None,
        "slos": [
            {"id": s.id, "name": s.name, "state": s.policy_state, "since": s.policy_state_since}
            for s in members
        ],
        "tiers": policy_config(policy),
    }
