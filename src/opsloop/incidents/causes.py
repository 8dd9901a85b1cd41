"""The change request an incident names as its cause: checked with the change domain's service
(never its tables), and read back by change management for its failure rate."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.changes import service as changes
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.incidents.models import Incident

FIELD = "caused_by_change"


def checked_change(session: Session, value: Any) -> str | None:
    """The change's key as stored; None or "" clears the link (422 for one that does not
    exist)."""
    if value is None or not str(value).strip():
        return None
    try:
        return changes.get_change(session, key=str(value)).key
    except NotFound:
        raise ValidationFailed(f"{FIELD}: no change {str(value)!r}", field=FIELD) from None


def changes_named(session: Session, *, keys: Iterable[str]) -> set[str]:
    """Which of these change keys an incident names as its cause."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    query = select(Incident.caused_by_change).where(Incident.caused_by_change.in_(wanted))
    return {key for key in session.scalars(query.distinct()) if key}


def incidents_caused_by(session: Session, *, key: str) -> list[str]:
    """The keys of the incidents that name the change as their cause, oldest first."""
    query = select(Incident.key).where(Incident.caused_by_change == key.strip().upper())
    return list(session.scalars(query.order_by(Incident.id)))


def incidents_caused_by_each(session: Session, *, keys: Iterable[str]) -> dict[str, list[str]]:
    """For each change key named as a cause, the keys of its incidents, oldest first."""
    wanted = sorted({key.strip().upper() for key in keys})
    if not wanted:
        return {}
    query = (
        select(Incident.caused_by_change, Incident.key)
        .where(Incident.caused_by_change.in_(wanted))
        .order_by(Incident.id)
    )
    found: dict[str, list[str]] = {}
    for change, incident in session.execute(query):
        if change:
            found.setdefault(change, []).append(incident)
    return found
