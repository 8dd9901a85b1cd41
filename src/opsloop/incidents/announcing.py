"""What the incident domain tells people through the notification outbox, in the transaction
of the change it announces: a declaration, a status change, an escalation, and an update
that is overdue. Each event is routed by the incident's first affected service (its owning
team and tier), or reaches only subscriptions without a service, team or tier when it has
none."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opsloop.incidents.views import IncidentView
from opsloop.notifications import service as notifications
from opsloop.notifications.events import register_event_types

DECLARED = "incident.declared"
STATUS_CHANGED = "incident.status.changed"
ESCALATED = "incident.escalated"
UPDATE_OVERDUE = "incident.update.overdue"
register_event_types(
    {
        DECLARED: "an incident was declared",
        STATUS_CHANGED: "an incident moved to another status (reopening included)",
        ESCALATED: "an incident's severity was raised",
        UPDATE_OVERDUE: "an open incident's promised status update is overdue",
    }
)


def _send(session: Session, event_type: str, view: IncidentView, summary: str) -> None:
    data = {
        "incident": {
            "key": view.key,
            "title": view.title,
            "severity": view.severity.value,
            "status": view.status.value,
            "services": list(view.services),
            "commander": view.commander,
        }
    }
    notifications.publish(
        session,
        event_type=event_type,
        summary=summary,
        data=data,
        service=view.services[0] if view.services else None,
        link=f"/incidents/{view.key}",
    )


def declared(session: Session, view: IncidentView) -> None:
    where = f" ({', '.join(view.services)})" if view.services else ""
    summary = f"{view.key} {view.severity.value} declared{where}: {view.title}"
    _send(session, DECLARED, view, summary)


def status_changed(session: Session, view: IncidentView, before: str) -> None:
    summary = f"{view.key} {view.severity.value}: {before} -> {view.status.value}: {view.title}"
    _send(session, STATUS_CHANGED, view, summary)


def escalated(session: Session, view: IncidentView, before: str, why: str) -> None:
    summary = f"{view.key} escalated {before} -> {view.severity.value}: {view.title} ({why})"
    _send(session, ESCALATED, view, summary)


def update_overdue(session: Session, view: IncidentView) -> None:
    due = view.next_update_at.isoformat(timespec="minutes") if view.next_update_at else "?"
    summary = f"{view.key} {view.severity.value}: status update overdue since {due}: {view.title}"
    _send(session, UPDATE_OVERDUE, view, summary)
