"""What the catalog asks the SLO domain (through its service, never its tables): which SLOs use
a service before it is deleted, and the budget state of a service's SLOs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from opsloop.core.auth.roles import Principal
from opsloop.core.errors import Conflict
from opsloop.services import service as catalog
from opsloop.services.vocabulary import tier_meaning
from opsloop.slo import budget_policies
from opsloop.slo import service as slo_service


def delete_service(session: Session, *, principal: Principal, name: str) -> None:
    """Refused (409, listing them) while SLOs name the service."""
    catalog.get_service(session, name=name)
    used_by = [f"{s.service}/{s.name}" for s in slo_service.list_slos(session, service=name)]
    if used_by:
        raise Conflict(
            f"service {name!r} is used by SLOs {', '.join(used_by)}; delete them first",
            field="service",
        )
    catalog.remove_service(session, principal=principal, name=name)


def budget_state(session: Session, *, name: str) -> dict[str, Any]:
    """The service's SLOs with budget left, burn rates and policy state, and whether its
    error-budget policy blocks changes now (what change management checks)."""
    found = catalog.get_service(session, name=name)
    slos = slo_service.list_slos(session, service=name)
    policy = budget_policies.policy_for(session, service=name)
    if slos:
        state = budget_policies.service_state(session, service=name)
    else:
        state = {
            "state": "no_data",
            "blocks_changes": policy.blocks_changes("no_data"),
            "approver": None,
            "tiers": budget_policies.policy_config(policy),
        }
    results = slo_service.latest_results(session, slo_ids=[s.id for s in slos])
    rows = []
    for slo in slos:
        result = results.get(slo.id, {})
        budget = result.get("budget") or {}
        rows.append(
            {
                "id": slo.id,
                "name": slo.name,
                "objective": slo.objective,
                "state": slo.policy_state,
                "since": slo.policy_state_since,
                "status": result.get("status", "not_evaluated"),
                "evaluated_at": result.get("evaluated_at"),
                "budget_remaining": budget.get("remaining"),
                "burn_rates": result.get("burn_rates", {}),
                "alert_severity": result.get("alert_severity"),
            }
        )
    return {
        "service": name,
        "display_name": found.display_name,
        "owner_team": found.owner_team,
        "tier": found.tier,
        "tier_meaning": tier_meaning(found.tier),
        "lifecycle": found.lifecycle,
        "state": state["state"],
        "blocks_changes": state["blocks_changes"],
        "approver": state["approver"],
        "slos": rows,
        "tiers": state["tiers"],
    }
