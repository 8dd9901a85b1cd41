"""What the change domain tells people through the notification outbox, in the transaction of
the write it announces: a change submitted for the CAB, and the CAB's decision (to its
requester, named in the event's data). Events are routed by the change's service, its owner
team and tier."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opsloop.changes.views import ChangeView
from opsloop.notifications import service as notifications
from opsloop.notifications.events import register_event_types
from opsloop.services import service as catalog

SUBMITTED = "change.submitted"
APPROVED = "change.approved"
REJECTED = "change.rejected"
register_event_types(
    {
        SUBMITTED: "a change request was submitted for approval",
        APPROVED: "a change request was approved (pre-approved standard changes included)",
        REJECTED: "a change request was rejected by the CAB",
    }
)


def _send(session: Session, event_type: str, view: ChangeView, summary: str, **extra: str) -> None:
    facts = catalog.routing_facts(session, [view.service]).get(view.service)
    notifications.publish(
        session,
        event_type=event_type,
        summary=summary,
        data={
            "change": {
                "key": view.key,
                "title": view.title,
                "service": view.service,
                "model": view.model.value,
                "risk": view.risk.value,
                "state": view.state.value,
                "requester": view.requester,
                "implementer": view.implementer,
                "approvals": view.approvals_given,
                "approvals_needed": view.approvals_needed,
            },
            "to": view.requester,
            **extra,
        },
        service=view.service,
        team=facts.owner_team if facts else None,
        tier=facts.tier if facts else None,
        link=f"/changes/{view.key}",
    )


def submitted(session: Session, view: ChangeView) -> None:
    summary = (
        f"{view.key} submitted ({view.model.value}, {view.risk.value} risk, {view.service}): "
        f"{view.title}"
    )
    _send(session, SUBMITTED, view, summary)


def approved(session: Session, view: ChangeView, by: str, comment: str) -> None:
    summary = f"{view.key} approved by {by}: {view.title}"
    _send(session, APPROVED, view, summary, by=by, comment=comment)


def rejected(session: Session, view: ChangeView, by: str, comment: str) -> None:
    summary = f"{view.key} rejected by {by}: {view.title}: {comment}"
    _send(session, REJECTED, view, summary, by=by, comment=comment)
