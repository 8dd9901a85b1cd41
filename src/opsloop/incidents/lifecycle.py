"""An incident's life after its declaration: status moves (with reopening), acknowledgement,
timeline events, status updates from templates, and the resolution record. Every write is
audited and lands on the timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.errors import Conflict, ValidationFailed
from opsloop.incidents import announcing, fields, timeline
from opsloop.incidents import update_templates as wording
from opsloop.incidents.models import Incident, UpdateTemplate
from opsloop.incidents.resolution import ResolutionRecord
from opsloop.incidents.rules import DEFAULT_RESPONSE_TARGETS, Status, check_move
from opsloop.incidents.service import ENTITY, WRITE_ROLE, Targets, find_row, view_of
from opsloop.incidents.views import IncidentView
from opsloop.incidents.vocabulary import DEFAULT_UPDATE_INTERVALS, Audience, EventKind

#: Templates are wording every incident shares: changing them needs more than a responder.
TEMPLATE_ROLE = Role.approver

_KIND_OF_STATUS = {
    Status.investigating: EventKind.response,
    Status.identified: EventKind.response,
    Status.mitigating: EventKind.mitigation,
    Status.monitoring: EventKind.mitigation,
    Status.resolved: EventKind.resolution,
    Status.closed: EventKind.resolution,
}


def _set_time(
    session: Session, row: Incident, principal: Principal, name: str, value: datetime | None
) -> None:
    before = getattr(row, name)
    if before == value:
        return
    setattr(row, name, value)
    kind = EventKind.mitigation if name == "mitigated_at" else EventKind.resolution
    timeline.record_change(
        session,
        incident_id=row.id,
        principal=principal,
        kind=kind if value is not None else EventKind.response,
        field=name,
        before=before,
        after=value,
    )


def change_status(
    session: Session,
    *,
    principal: Principal,
    key: str,
    status: Status,
    note: str = "",
    targets: Targets = DEFAULT_RESPONSE_TARGETS,
) -> IncidentView:
    """Move forward (states may be skipped) or reopen a resolved or closed incident; moving
    back otherwise is refused (409). Reaching monitoring sets the mitigation time if unset,
    resolved the resolution time, closed the closing time; reopening clears the last two
    (the old values stay on the timeline)."""
    require(principal, WRITE_ROLE)
    row = find_row(session, key)
    move = check_move(row.status, status)
    note = fields.text(note, "note")
    before = view_of(session, row, targets).fields()
    now = clock.now()
    row.status = status
    text = f"status: {move.before.value} → {move.after.value}"
    if move.reopened:
        text = f"reopened: {move.before.value} → {move.after.value}"
    timeline.record_change(
        session,
        incident_id=row.id,
        principal=principal,
        kind=EventKind.response if move.reopened else _KIND_OF_STATUS[status],
        field="status",
        before=move.before.value,
        after=move.after.value,
        text=f"{text}: {note}" if note else text,
    )
    if move.reopened:
        _set_time(session, row, principal, "closed_at", None)
        _set_time(session, row, principal, "resolved_at", None)
    else:
        if status.order >= Status.monitoring.order and row.mitigated_at is None:
            _set_time(session, row, principal, "mitigated_at", now)
        if status.order >= Status.resolved.order and row.resolved_at is None:
            _set_time(session, row, principal, "resolved_at", now)
        if status == Status.closed:
            _set_time(session, row, principal, "closed_at", now)
    row.updated_at = now
    after = view_of(session, row, targets)
    audit.record(
        session,
        principal=principal,
        action="incident.reopen" if move.reopened else "incident.status",
        entity_type=ENTITY,
        entity_id=row.key,
        before=before,
        after=after.fields(),
    )
    announcing.status_changed(session, after, move.before.value)
    return after


def acknowledge(
    session: Session, *, principal: Principal, key: str, targets: Targets = DEFAULT_RESPONSE_TARGETS
) -> IncidentView:
    """Someone responds: the acknowledgement time the response target is measured by."""
    require(principal, WRITE_ROLE)
    row = find_row(session, key)
    if row.acknowledged_at is not None:
        raise Conflict(
            f"{row.key} was acknowledged at {row.acknowledged_at.isoformat()}",
            field="acknowledged_at",
        )
    now = clock.now()
    row.acknowledged_at = now
    row.updated_at = now
    timeline.record_change(
        session,
        incident_id=row.id,
        principal=principal,
        kind=EventKind.response,
        field="acknowledged_at",
        before=None,
        after=now,
        text=f"acknowledged by {principal.actor}",
    )
    found = view_of(session, row, targets)
    audit.record(
        session,
        principal=principal,
        action="incident.acknowledge",
        entity_type=ENTITY,
        entity_id=row.key,
        before={"acknowledged_at": None},
        after={"acknowledged_at": now.isoformat()},
    )
    return found


def add_event(
    session: Session,
    *,
    principal: Principal,
    key: str,
    kind: EventKind,
    text: str,
    at: datetime | None = None,
) -> timeline.EventView:
    """An event someone writes on the timeline (``at`` defaults to now)."""
    require(principal, WRITE_ROLE)
    row = find_row(session, key)
    if kind == EventKind.communication:
        raise ValidationFailed("kind: post status updates through the updates action", field="kind")
    event = timeline.add(
        session,
        incident_id=row.id,
        principal=principal,
        kind=kind,
        text=fields.text(text, "text", required=True),
        at=fields.moment(at, "at") if at else None,
    )
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="incident.timeline",
        entity_type=ENTITY,
        entity_id=row.key,
        after={"kind": kind.value, "text": event.text, "at": event.at.isoformat()},
    )
    return timeline.view(event)


def template_values(found: IncidentView, next_update_at: datetime | None) -> dict[str, str]:
    impact = []
    if found.users_affected is not None:
        impact.append(f"{found.users_affected} users affected")
    if found.features_impacted:
        impact.append("features: " + ", ".join(found.features_impacted))
    when = "%Y-%m-%d %H:%M UTC"
    return {
        "key": found.key,
        "title": found.title,
        "summary": found.summary,
        "severity": found.severity.value,
        "severity_definition": found.severity.definition,
        "status": found.status.value,
        "services": ", ".join(found.services) or "our services",
        "impact": "; ".join(impact) or "being assessed",
        "started_at": found.started_at.strftime(when),
        "commander": found.commander or "not assigned",
        "next_update_at": next_update_at.strftime(when) if next_update_at else "when we know more",
    }


def template_body(session: Session, name: str, audience: Audience) -> str:
    stage = wording.check_stage(name)
    stored = session.get(UpdateTemplate, (stage, audience))
    return stored.body if stored else wording.SHIPPED[(stage, audience)]


def post_update(
    session: Session,
    *,
    principal: Principal,
    key: str,
    audience: Audience,
    text: str | None = None,
    template: str | None = None,
    next_update_at: datetime | None = None,
    targets: Targets = DEFAULT_RESPONSE_TARGETS,
) -> timeline.EventView:
    """A status update (a communication event). Its text is ``text`` or, without it, the
    template filled in; while the incident is open it promises the next update by
    ``next_update_at`` (default: the severity's update interval from now)."""
    require(principal, WRITE_ROLE)
    row = find_row(session, key)
    now = clock.now()
    if next_update_at is not None and next_update_at <= now:
        raise ValidationFailed("next_update_at: must be in the future", field="next_update_at")
    if row.status.is_open and next_update_at is None:
        next_update_at = now + DEFAULT_UPDATE_INTERVALS[row.severity]
    if not row.status.is_open:
        next_update_at = None
    if text is None or not text.strip():
        if template is None:
            raise ValidationFailed("text: give the update's text or a template", field="text")
        body = template_body(session, template, audience)
        text = wording.render(body, template_values(view_of(session, row, targets), next_update_at))
    event = timeline.add(
        session,
        incident_id=row.id,
        principal=principal,
        kind=EventKind.communication,
        text=fields.text(text, "text", required=True),
        audience=audience,
        next_update_at=next_update_at,
    )
    row.next_update_at = next_update_at
    row.updated_at = now
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="incident.update_posted",
        entity_type=ENTITY,
        entity_id=row.key,
        after={
            "audience": audience.value,
            "text": event.text,
            "next_update_at": next_update_at.isoformat() if next_update_at else None,
        },
    )
    return timeline.view(event)


def set_resolution(
    session: Session,
    *,
    principal: Principal,
    key: str,
    record: ResolutionRecord,
    targets: Targets = DEFAULT_RESPONSE_TARGETS,
) -> IncidentView:
    """Replace the resolution record; the change is audited and noted on the timeline."""
    require(principal, WRITE_ROLE)
    row = find_row(session, key)
    before = view_of(session, row, targets).resolution.model_dump(mode="json")
    after = record.model_dump(mode="json")
    if before != after:
        row.resolution = record.model_dump_json()
        row.updated_at = clock.now()
        timeline.record_change(
            session,
            incident_id=row.id,
            principal=principal,
            kind=EventKind.resolution,
            field="resolution",
            before=None,
            after=None,
            text="resolution record updated",
        )
        audit.record(
            session,
            principal=principal,
            action="incident.resolution",
            entity_type=ENTITY,
            entity_id=row.key,
            before=before,
            after=after,
        )
    return view_of(session, row, targets)


@dataclass(frozen=True)
class TemplateView:
    name: str
    audience: Audience
    body: str
    customised: bool


def list_templates(session: Session) -> list[TemplateView]:
    stored = {(t.name, t.audience): t.body for t in session.scalars(select(UpdateTemplate))}
    return [
        TemplateView(
            name, audience, stored.get((name, audience), shipped), (name, audience) in stored
        )
        for (name, audience), shipped in wording.SHIPPED.items()
    ]


def put_templates(
    session: Session,
    *,
    principal: Principal,
    templates: Sequence[tuple[str, Audience, str | None]],
) -> list[TemplateView]:
    """Set templates (name, audience, body); a body of None restores the shipped wording."""
    require(principal, TEMPLATE_ROLE)
    for index, (name, audience, body) in enumerate(templates):
        stage = wording.check_stage(name, field=f"templates[{index}].name")
        stored = session.get(UpdateTemplate, (stage, audience))
        old = stored.body if stored else wording.SHIPPED[(stage, audience)]
        if body is None:
            if stored is not None:
                session.delete(stored)
            new = wording.SHIPPED[(stage, audience)]
        else:
            new = wording.check_template(body, field=f"templates[{index}].body")
            if stored is None:
                session.add(
                    UpdateTemplate(
                        name=stage,
                        audience=audience,
                        body=new,
                        updated_by=principal.actor,
                        updated_at=clock.now(),
                    )
                )
            else:
                stored.body, stored.updated_by, stored.updated_at = (
                    new,
                    principal.actor,
                    clock.now(),
                )
        if new != old:
            audit.record(
                session,
                principal=principal,
                action="incident_template.update",
                entity_type="incident_template",
                entity_id=f"{stage}/{audience.value}",
                before={"body": old},
                after={"body": new},
            )
    session.flush()
    return list_templates(session)


def timeline_of(session: Session, *, key: str) -> Sequence[timeline.EventView]:
    return timeline.events(session, incident_id=find_row(session, key).id)
