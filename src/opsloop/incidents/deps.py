"""Request-scoped helpers the incident API and pages share."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends

from opsloop.core.config import Settings
from opsloop.core.deps import get_settings
from opsloop.incidents.reliability import Targets as ReliabilityTargets
from opsloop.incidents.rules import Severity, response_targets


async def configured_targets(
    settings: Annotated[Settings, Depends(get_settings)],
) -> dict[Severity, timedelta]:
    """The response target of each severity, with the deployment's settings applied."""
    return response_targets(settings.incident_response_targets)


Targets = Annotated[dict[Severity, timedelta], Depends(configured_targets)]


async def configured_reliability_targets(
    settings: Annotated[Settings, Depends(get_settings)],
) -> ReliabilityTargets:
    """The MTTR and MTBF targets the reliability figures are judged by."""
    return ReliabilityTargets(
        mttr=timedelta(hours=settings.reliability_mttr_target_hours),
        mtbf=timedelta(hours=settings.reliability_mtbf_target_hours),
    )


ReliabilityGoals = Annotated[ReliabilityTargets, Depends(configured_reliability_targets)]
