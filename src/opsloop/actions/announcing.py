"""What the action items domain tells people through the notification outbox."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from opsloop.actions.views import ActionItemView
from opsloop.notifications import service as notifications
from opsloop.notifications.events import register_event_types

ASSIGNED = "action_item.assigned"
ESCALATED = "action_item.escalated"

register_event_types(
    {
        ASSIGNED: "an action item was given to a user or a team",
        ESCALATED: "an action item is overdue and was escalated to its owner's team lead",
    }
)


def _link(item: ActionItemView) -> str:
    return f"/action-items?incident={item.incident_key}"


def _data(item: ActionItemView) -> dict[str, object]:
    return {
        "action_item": item.id,
        "incident": item.incident_key,
        "description": item.description,
        "owner": item.owner,
        "priority": item.priority.value,
        "due_on": item.due_on.isoformat(),
        "status": item.status.value,
    }


def assigned(session: Session, item: ActionItemView, by: str) -> None:
    notifications.publish(
        session,
        event_type=ASSIGNED,
        summary=f"{item.incident_key} action item for {item.owner} ({item.priority.value}, "
        f"due {item.due_on.isoformat()}): {item.description[:120]}",
        data={**_data(item), "assigned_by": by},
        team=item.owner_team,
        link=_link(item),
    )


def escalated(
    session: Session,
    item: ActionItemView,
    *,
    level: int,
    days_overdue: int,
    leads_by_team: Sequence[tuple[str | None, Sequence[str]]],
) -> None:
    """One event per team the escalation is routed to, naming that team's leads; a team
    without a lead gets it on its channel only (``leads`` empty says so)."""
    for team, leads in leads_by_team:
        to = ", ".join(leads) if leads else f"team {team}'s channel (no lead)" if team else "nobody"
        notifications.publish(
            session,
            event_type=ESCALATED,
            summary=f"{item.incident_key} action item {days_overdue} days overdue "
            f"(level {level}, owner {item.owner}) to {to}: {item.description[:120]}",
            data={
                **_data(item),
                "level": level,
                "days_overdue": days_overdue,
                "leads": list(leads),
                "no_lead": not leads,
            },
            team=team,
            link=_link(item),
        )
