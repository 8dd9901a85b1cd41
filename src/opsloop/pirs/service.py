"""Review use-cases: create one for an incident, read it, edit its sections and timeline,
move it through its states, schedule its review meeting. Listing, revisions and rendering
input are in :mod:`opsloop.pirs.reading`.

The incident is read only through the incident services. Every write is audited (``pir.*``,
entity ``pir``, id the incident key); publishing is announced through the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.actions import service as action_items
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.errors import Conflict, NotFound, ValidationFailed
from opsloop.incidents import lifecycle
from opsloop.incidents import service as incidents
from opsloop.pirs import announcing
from opsloop.pirs.content import (
    Impact,
    PirContent,
    ReviewMeeting,
    TimelineEntry,
    checked_content,
    checked_meeting,
    merged,
    missing_for_publishing,
)
from opsloop.pirs.models import Pir, PirRevision
from opsloop.pirs.rules import DEFAULT_DUE_HOURS, DEFAULT_REQUIRED, PirState, check_move, edit_state
from opsloop.pirs.views import IncidentFacts, PirView, Policy, facts_of, view_of

#: Whoever may write to an incident may write its review.
WRITE_ROLE = incidents.WRITE_ROLE
READ_ROLE = Role.viewer
ENTITY = "pir"
DEFAULT_POLICY = Policy(required=frozenset(DEFAULT_REQUIRED), due_hours=DEFAULT_DUE_HOURS)


def incident_facts(session: Session, key: str, policy: Policy) -> IncidentFacts:
    """The incident of ``key`` (404 when there is none), read through its service."""
    return facts_of(incidents.get_incident(session, key=key), policy)


def find_row(session: Session, incident: IncidentFacts) -> Pir:
    found = session.scalar(select(Pir).where(Pir.incident_id == incident.id))
    if found is None:
        raise NotFound(f"{incident.key} has no post-incident review yet", field="key")
    return found


def _view(session: Session, row: Pir, incident: IncidentFacts) -> PirView:
    session.flush()
    return view_of(row, incident, clock.now())


def get_pir(session: Session, *, key: str, policy: Policy = DEFAULT_POLICY) -> PirView:
    incident = incident_facts(session, key, policy)
    return _view(session, find_row(session, incident), incident)


def _prefilled(session: Session, key: str) -> PirContent:
    """What the incident already says: its summary, impact, root cause and factors from the
    resolution record, and its timeline (copied: editing it here leaves the incident alone)."""
    found = incidents.get_incident(session, key=key)
    events = lifecycle.timeline_of(session, key=key)
    return checked_content(
        PirContent(
            summary=found.summary,
            impact=Impact(users_affected=found.users_affected, revenue=found.revenue_impact),
            root_cause=found.resolution.diagnosis.root_cause,
            contributing_factors=list(found.resolution.diagnosis.contributing_factors),
            timeline=[
                TimelineEntry(at=e.at, kind=e.kind.value, text=e.text, source_event_id=e.id)
                for e in events
            ],
        )
    )


def create_pir(
    session: Session, *, principal: Principal, key: str, policy: Policy = DEFAULT_POLICY
) -> PirView:
    """A draft review for the incident, prefilled from it; one per incident (409 after)."""
    require(principal, WRITE_ROLE)
    incident = incident_facts(session, key, policy)
    if session.scalar(select(Pir.id).where(Pir.incident_id == incident.id)) is not None:
        raise Conflict(f"{incident.key} already has a post-incident review", field="key")
    now = clock.now()
    row = Pir(
        incident_id=incident.id,
        incident_key=incident.key,
        state=PirState.draft,
        revision=1,
        content=_prefilled(session, incident.key).model_dump_json(),
        review_meeting=None,
        created_by=principal.actor,
        created_at=now,
        updated_by=principal.actor,
        updated_at=now,
    )
    session.add(row)
    found = _view(session, row, incident)
    audit.record(
        session,
        principal=principal,
        action="pir.create",
        entity_type=ENTITY,
        entity_id=incident.key,
        after=found.fields(),
    )
    return found


def _edit(
    session: Session,
    *,
    principal: Principal,
    key: str,
    policy: Policy,
    action: str,
    content: Any = None,
    meeting: ReviewMeeting | None = None,
) -> PirView:
    """Store a new ``content`` (a function of the current one) and/or ``meeting``. A published
    review opens its next revision as a draft; the published one stays as it was."""
    require(principal, WRITE_ROLE)
    incident = incident_facts(session, key, policy)
    row = find_row(session, incident)
    before = _view(session, row, incident)
    new_content = content(before.content) if content is not None else before.content
    if new_content == before.content and (meeting is None or meeting == before.review_meeting):
        return before
    outcome = edit_state(row.state)
    row.state = outcome.state
    if outcome.new_revision:
        row.revision += 1
    row.content = new_content.model_dump_json()
    if meeting is not None:
        row.review_meeting = meeting.model_dump_json()
    row.updated_by = principal.actor
    row.updated_at = clock.now()
    after = _view(session, row, incident)
    old, new = _changed(before.fields(), after.fields())
    audit.record(
        session,
        principal=principal,
        action=action,
        entity_type=ENTITY,
        entity_id=incident.key,
        before=old,
        after=new,
    )
    return after


def _changed(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The state, the revision and the sections, each its own field: the audit trail keeps the
    fields that changed, so an edit of one section does not copy the whole (possibly long)
    document into it."""
    old = {"state": before["state"], "revision": before["revision"]}
    new = {"state": after["state"], "revision": after["revision"]}
    for name, value in after["content"].items():
        if before["content"].get(name) != value:
            old[name], new[name] = before["content"].get(name), value
    if before["review_meeting"] != after["review_meeting"]:
        old["review_meeting"], new["review_meeting"] = (
            before["review_meeting"],
            after["review_meeting"],
        )
    return old, new


def update_pir(
    session: Session,
    *,
    principal: Principal,
    key: str,
    changes: Mapping[str, Any],
    policy: Policy = DEFAULT_POLICY,
) -> PirView:
    """Replace the named sections (``impact`` merged field by field)."""
    if not changes:
        raise ValidationFailed("body: name at least one section to change", field="body")
    return _edit(
        session,
        principal=principal,
        key=key,
        policy=policy,
        action="pir.update",
        content=lambda current: merged(current, dict(changes)),
    )


def add_timeline_entry(
    session: Session,
    *,
    principal: Principal,
    key: str,
    text: str,
    at: datetime | None = None,
    kind: str = "note",
    policy: Policy = DEFAULT_POLICY,
) -> PirView:
    """An entry on the review's own timeline (``at`` defaults to now); the incident's
    timeline is not touched."""
    entry = {"at": (at or clock.now()).isoformat(), "text": text, "kind": kind}

    def add(current: PirContent) -> PirContent:
        data = current.model_dump(mode="json")
        data["timeline"].append(entry)
        return checked_content(data)

    return _edit(
        session, principal=principal, key=key, policy=policy, action="pir.timeline", content=add
    )


def _check_agreed_items(session: Session, key: str, ids: Sequence[int]) -> None:
    """The meeting can only agree on this incident's own action items."""
    if not ids:
        return
    own = {item.id for item in action_items.items_of_incident_key(session, key=key)}
    for index, item_id in enumerate(ids):
        if item_id not in own:
            field = f"review_meeting.validated_action_items[{index}]"
            raise ValidationFailed(
                f"{field}: action item {item_id} is not one of {key}'s", field=field
            )


def schedule_review(
    session: Session,
    *,
    principal: Principal,
    key: str,
    meeting: Mapping[str, Any] | ReviewMeeting,
    policy: Policy = DEFAULT_POLICY,
) -> PirView:
    """Set the review meeting: when, who (opsloop users), notes, the action items agreed."""
    checked = checked_meeting(meeting)
    for index, name in enumerate(checked.attendees):
        field = f"review_meeting.attendees[{index}]"
        try:
            user = auth.get_user(session, username=name.strip())
        except NotFound:
            raise ValidationFailed(
                f"{field}: no opsloop user named {name!r}", field=field
            ) from None
        if user.disabled:
            raise ValidationFailed(f"{field}: the user {name!r} is disabled", field=field)
    if len(set(checked.attendees)) != len(checked.attendees):
        field = "review_meeting.attendees"
        raise ValidationFailed(f"{field}: someone is listed twice", field=field)
    _check_agreed_items(session, key, checked.validated_action_items)
    return _edit(
        session,
        principal=principal,
        key=key,
        policy=policy,
        action="pir.review_meeting",
        meeting=checked,
    )


def move_pir(
    session: Session,
    *,
    principal: Principal,
    key: str,
    state: PirState,
    policy: Policy = DEFAULT_POLICY,
) -> PirView:
    """draft -> in_review -> published (409 otherwise). Publishing needs a summary, a root
    cause and a whys chain, keeps the revision as published and announces it."""
    require(principal, WRITE_ROLE)
    incident = incident_facts(session, key, policy)
    row = find_row(session, incident)
    check_move(row.state, state)
    before = _view(session, row, incident)
    now = clock.now()
    if state == PirState.published:
        missing = missing_for_publishing(before.content)
        if missing:
            raise ValidationFailed(
                f"{missing[0]}: needed before publishing (missing: {', '.join(missing)})",
                field=missing[0],
            )
        row.published_at = now
        session.add(
            PirRevision(
                pir_id=row.id,
                revision=row.revision,
                content=row.content,
                review_meeting=row.review_meeting,
                published_by=principal.actor,
                published_at=now,
            )
        )
    row.state = state
    row.updated_by = principal.actor
    row.updated_at = now
    after = _view(session, row, incident)
    audit.record(
        session,
        principal=principal,
        action="pir.state",
        entity_type=ENTITY,
        entity_id=incident.key,
        before={"state": before.state.value, "revision": before.revision},
        after={"state": after.state.value, "revision": after.revision},
    )
    if state == PirState.published:
        announcing.published(session, after)
    return after
