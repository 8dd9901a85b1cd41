"""Request-scoped helpers the change API and pages share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from opsloop.changes.rules import ChangePolicy, change_policy
from opsloop.core.config import Settings
from opsloop.core.deps import get_settings


def policy_of(settings: Settings) -> ChangePolicy:
    return change_policy(
        settings.change_categories,
        settings.change_approvals,
        settings.change_emergency_approval_hours,
    )


async def configured_policy(settings: Annotated[Settings, Depends(get_settings)]) -> ChangePolicy:
    """Categories, approvals per risk and the emergency approval time, as configured."""
    return policy_of(settings)


Policy = Annotated[ChangePolicy, Depends(configured_policy)]
