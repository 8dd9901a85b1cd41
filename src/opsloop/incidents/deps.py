"""Request-scoped helpers the incident API and pages share."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends

from opsloop.core.config import Settings
from opsloop.core.deps import get_settings
from opsloop.incidents.rules import Severity, response_targets


async def configured_targets(
    settings: Annotated[Settings, Depends(get_settings)],
) -> dict[Severity, timedelta]:
    """The response target of each severity, with the deployment's settings applied."""
    return response_targets(settings.incident_response_targets)


Targets = Annotated[dict[Severity, timedelta], Depends(configured_targets)]
