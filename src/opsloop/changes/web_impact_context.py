"""What the change page shows of a change's impact: its assessment and its verification."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from opsloop.changes import assessment, silencing, verification
from opsloop.changes.rules import ChangePolicy
from opsloop.core.errors import ValidationFailed


def impact_of(session: Session, *, key: str, policy: ChangePolicy) -> dict[str, Any]:
    try:
        assessed: assessment.Assessment | None = assessment.assess_change(
            session, key=key, policy=policy
        )
    except ValidationFailed:
        # A service since removed from the catalog has nothing left to assess.
        assessed = None
    return {
        "assessment": assessed,
        "verification": verification.verification_of(session, key=key),
        "silence": silencing.settings_of(session, key=key),
    }
