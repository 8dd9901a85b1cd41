"""Reading reviews: the list with its filters, the published revisions, and the document a
rendering shows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.actions import service as action_items
from opsloop.core import clock
from opsloop.core.errors import NotFound
from opsloop.incidents import service as incidents
from opsloop.pirs.models import Pir, PirRevision
from opsloop.pirs.rules import PirState
from opsloop.pirs.service import (
    DEFAULT_POLICY,
    find_row,
    incident_facts,
)
from opsloop.pirs.views import (
    PirDocument,
    PirView,
    Policy,
    RevisionView,
    facts_of,
    revision_of,
    view_of,
)


def list_pirs(
    session: Session,
    *,
    state: PirState | None = None,
    overdue: bool | None = None,
    before_id: int | None = None,
    limit: int | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> list[PirView]:
    """Reviews newest first. ``overdue`` narrows to those past their deadline unpublished (or
    to the others); it is decided from each incident, read through the incident service a
    batch at a time."""
    query = select(Pir)
    if state is not None:
        query = query.where(Pir.state == state)
    if overdue is True:
        # Only an unpublished review can be overdue: the incident is read for those alone.
        query = query.where(Pir.state != PirState.published)
    if before_id is not None:
        query = query.where(Pir.id < before_id)
    query = query.order_by(Pir.id.desc())
    now = clock.now()
    found: list[PirView] = []
    # Overdue is known only once the incident is read, so rows are read in batches until
    # the page is full.
    batch = max(limit or 100, 50)
    offset = 0
    while limit is None or len(found) < limit:
        rows = list(session.scalars(query.limit(batch).offset(offset)))
        found_incidents = incidents.incidents_by_key(session, keys=[r.incident_key for r in rows])
        for row in rows:
            incident = found_incidents.get(row.incident_key)
            facts = (
                facts_of(incident, policy)
                if incident
                else incident_facts(session, row.incident_key, policy)
            )
            view = view_of(row, facts, now)
            if overdue is None or view.overdue == overdue:
                found.append(view)
        if len(rows) < batch:
            break
        offset += batch
    return found[:limit] if limit is not None else found


def revisions(session: Session, *, key: str, policy: Policy = DEFAULT_POLICY) -> list[RevisionView]:
    """The published revisions, oldest first."""
    incident = incident_facts(session, key, policy)
    row = find_row(session, incident)
    query = select(PirRevision).where(PirRevision.pir_id == row.id).order_by(PirRevision.revision)
    return [revision_of(r, incident) for r in session.scalars(query)]


def revision(
    session: Session, *, key: str, number: int, policy: Policy = DEFAULT_POLICY
) -> RevisionView:
    incident = incident_facts(session, key, policy)
    row = find_row(session, incident)
    found = session.get(PirRevision, (row.id, number))
    if found is None:
        raise NotFound(f"{incident.key} has no published revision {number}", field="revision")
    return revision_of(found, incident)


def document(
    session: Session,
    *,
    key: str,
    number: int | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> PirDocument:
    """What a rendering shows: the current review, or published revision ``number``."""
    incident = incident_facts(session, key, policy)
    row = find_row(session, incident)
    items = action_items.items_of_incident(session, incident.id)
    if number is None:
        current = view_of(row, incident, clock.now())
        return PirDocument(
            incident=incident,
            state=current.state,
            revision=current.revision,
            content=current.content,
            review_meeting=current.review_meeting,
            action_items=items,
            published_at=current.published_at,
        )
    kept = revision(session, key=key, number=number, policy=policy)
    return PirDocument(
        incident=incident,
        state=kept.state,
        revision=kept.revision,
        content=kept.content,
        review_meeting=kept.review_meeting,
        action_items=items,
        published_at=kept.published_at,
    )


def states_of(session: Session, incident_ids: Sequence[int]) -> dict[int, PirState]:
    """The review state of each of these incidents that has a review."""
    if not incident_ids:
        return {}
    rows = session.execute(
        select(Pir.incident_id, Pir.state).where(Pir.incident_id.in_(list(incident_ids)))
    )
    return {incident_id: state for incident_id, state in rows}
