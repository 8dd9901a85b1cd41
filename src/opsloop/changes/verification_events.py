"""The event a failed verification sends through the notification outbox: to the change's
requester (named in the data) and routed to the service's owner team, in the transaction that
records the verdict."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from opsloop.changes.views import ChangeView
from opsloop.notifications import service as notifications
from opsloop.notifications.events import register_event_types
from opsloop.services import service as catalog

VERIFICATION_FAILED = "change.verification_failed"
register_event_types(
    {
        VERIFICATION_FAILED: (
            "a completed change made its service's SLIs clearly worse; a rollback is proposed"
        ),
    }
)


def verification_failed(session: Session, view: ChangeView, slos: list[dict[str, Any]]) -> None:
    facts = catalog.routing_facts(session, [view.service]).get(view.service)
    failing = ", ".join(s["slo"] for s in slos if s["verdict"] == "fail")
    notifications.publish(
        session,
        event_type=VERIFICATION_FAILED,
        summary=(
            f"{view.key} failed verification on {view.service} ({failing}): consider rolling "
            f"it back: {view.title}"
        ),
        data={
            "change": {
                "key": view.key,
                "title": view.title,
                "service": view.service,
                "state": view.state.value,
                "requester": view.requester,
                "implementer": view.implementer,
                "rollback_plan": view.rollback_plan,
            },
            "slos": slos,
            "to": view.requester,
        },
        service=view.service,
        team=facts.owner_team if facts else None,
        tier=facts.tier if facts else None,
        link=f"/changes/{view.key}",
    )
