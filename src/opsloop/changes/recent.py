"""The changes that ran on services shortly before a moment: what an incident page lists as
suspects (the changes of its services in the 24 hours before it started)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from opsloop.changes import service as changes
from opsloop.changes.views import ChangeView

RECENT = timedelta(hours=24)


def changes_before(
    session: Session, *, services: Iterable[str], at: datetime, period: timedelta = RECENT
) -> list[ChangeView]:
    """The services' changes that started (or, not started, were planned to start) in the
    ``period`` up to and including ``at``, earliest first."""
    found: dict[int, ChangeView] = {}
    # Up to and including the minute of ``at``: a change started as the incident began is the
    # first suspect, not one to leave out.
    until = at + timedelta(minutes=1)
    for service in sorted(set(services)):
        for change in changes.changes_of_service(
            session, service=service, since=at - period, until=until
        ):
            found[change.id] = change
    return sorted(
        found.values(), key=lambda c: (c.started_at or c.window_start or c.created_at, c.id)
    )
