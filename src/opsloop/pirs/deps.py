"""The review policy from the settings, for the API, the pages, the CLI and the job."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from opsloop.core.config import Settings
from opsloop.core.deps import get_settings
from opsloop.pirs.rules import parse_severities
from opsloop.pirs.views import Policy


def policy_from(settings: Settings) -> Policy:
    return Policy(
        required=parse_severities(settings.pir_required_severities),
        due_hours=settings.pir_due_hours,
    )


async def configured_policy(settings: Annotated[Settings, Depends(get_settings)]) -> Policy:
    return policy_from(settings)


PolicyDep = Annotated[Policy, Depends(configured_policy)]
