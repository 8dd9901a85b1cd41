"""The error-budget gate: what the service's error-budget policy says about changing it now.

It reads only the catalog's ``budget_state`` (the answer of GET
/api/v1/services/{service}/budget-state), never the SLO tables.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from opsloop.changes.rules import GateVerdict, gate_verdict
from opsloop.core.errors import NotFound
from opsloop.services import usage


def verdict(session: Session, *, service: str) -> GateVerdict | None:
    """The verdict now; None for a service no longer in the catalog (nothing to protect)."""
    try:
        state = usage.budget_state(session, name=service)
    except NotFound:
        return None
    return gate_verdict(state)


def verdicts(session: Session, *, services: list[str]) -> dict[str, GateVerdict]:
    found = {}
    for name in sorted(set(services)):
        checked = verdict(session, service=name)
        if checked is not None:
            found[name] = checked
    return found
