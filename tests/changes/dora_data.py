"""Random change records for checking the DORA queries against the pure reference."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from opsloop.changes.dora_math import Facts
from opsloop.changes.models import Change
from opsloop.changes.rules import ChangeModel, ChangeState, RiskLevel
from opsloop.core.db import Database

STATES = ["completed"] * 6 + ["failed", "rolled_back", "in_progress", "scheduled"]


def random_changes(
    db: Database, *, seed: int, count: int, services: list[str], start: datetime, days: int
) -> list[tuple[str, Facts]]:
    """``count`` changes with random states and times over ``days`` days from ``start``,
    stored as rows: (service, facts) of each."""
    rng = random.Random(seed)
    made: list[tuple[str, Facts]] = []
    with db.write() as session:
        for number in range(1, count + 1):
            state = rng.choice(STATES)
            finished = start + timedelta(seconds=rng.randrange(days * 86400))
            submitted = finished - timedelta(seconds=rng.randrange(1, 30 * 86400))
            committed = (
                submitted - timedelta(seconds=rng.randrange(1, 5 * 86400))
                if rng.random() < 0.4
                else None
            )
            ran = state not in ("in_progress", "scheduled")
            incident = f"INC-2026-{number:03d}" if rng.random() < 0.1 and ran else None
            key = f"CR-2026-{number:03d}"
            service = rng.choice(services)
            facts = Facts(
                key=key,
                state=state,
                submitted_at=submitted,
                committed_at=committed,
                finished_at=finished if ran else None,
                incident_key=incident,
            )
            session.add(
                Change(
                    key=key,
                    year=2026,
                    number=number,
                    title=f"change {number}",
                    description="",
                    service=service,
                    category="application",
                    model=ChangeModel.standard,
                    risk=RiskLevel.low,
                    state=ChangeState(state),
                    impact_analysis="",
                    rollback_plan="",
                    submitted_at=submitted,
                    approved_at=submitted,
                    started_at=submitted if ran else None,
                    finished_at=facts.finished_at,
                    committed_at=committed,
                    incident_key=incident,
                    outcome_reason="",
                    gate_override_reason="",
                    warnings="[]",
                    created_by="test",
                    created_at=submitted,
                    updated_at=submitted,
                )
            )
            made.append((service, facts))
    return made
