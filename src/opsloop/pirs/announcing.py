"""What reviews tell people through the notification outbox: a review was published, and a
required review passed its deadline unpublished (announced once per incident)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opsloop.notifications import service as notifications
from opsloop.notifications.events import register_event_types
from opsloop.pirs.views import IncidentFacts, PirView

PUBLISHED = "pir.published"
OVERDUE = "pir.overdue"
register_event_types(
    {
        PUBLISHED: "a post-incident review was published (each revision)",
        OVERDUE: "a required post-incident review passed its deadline unpublished",
    }
)


def _send(
    session: Session, event_type: str, incident: IncidentFacts, summary: str, **extra: object
) -> None:
    notifications.publish(
        session,
        event_type=event_type,
        summary=summary,
        data={
            "incident": {
                "key": incident.key,
                "title": incident.title,
                "severity": incident.severity,
                "services": list(incident.services),
            },
            **extra,
        },
        service=incident.services[0] if incident.services else None,
        link=f"/incidents/{incident.key}/pir",
    )


def published(session: Session, found: PirView) -> None:
    summary = (
        f"{found.key} post-incident review published (revision {found.revision}): "
        f"{found.incident.title}"
    )
    _send(session, PUBLISHED, found.incident, summary, revision=found.revision)


def overdue(session: Session, incident: IncidentFacts, state: str | None) -> None:
    due = incident.due_at.isoformat(timespec="minutes") if incident.due_at else "?"
    shown = state.replace("_", " ") if state else "not started"
    summary = (
        f"{incident.key} {incident.severity}: post-incident review overdue since {due} "
        f"({shown}): {incident.title}"
    )
    _send(session, OVERDUE, incident, summary, pir_state=state)
