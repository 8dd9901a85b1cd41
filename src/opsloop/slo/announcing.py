"""Hands an evaluation's alert and policy changes to the notification outbox, and its page
alerts to incident declaration, in the evaluation's own transaction: what it announces or
declares commits with the change, or not at all (opsloop.notifications delivers afterwards,
outside any request or job)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from opsloop.core.audit import service as audit
from opsloop.incidents import from_slos
from opsloop.notifications import service as notifications
from opsloop.slo.announcements import (
    Announcement,
    Subject,
    alert_changed,
    policy_changed,
)
from opsloop.slo.status import SLOStatus


class Named(Protocol):
    """An evaluated SLO as the evaluation knows it (opsloop.slo.evaluation.Target)."""

    @property
    def slo_id(self) -> int: ...
    @property
    def service(self) -> str: ...
    @property
    def name(self) -> str: ...


def announce(
    session: Session,
    *,
    targets: Mapping[int, Named],
    statuses: Mapping[int, SLOStatus],
    alerts: Sequence[Mapping[str, Any]],
    policy_changes: Sequence[audit.Entry],
) -> list[int]:
    """Outbox rows for the alerts that changed and the policy states that moved; their ids."""
    sent: list[Announcement] = [
        alert_changed(_subject(targets[a["slo_id"]], statuses[a["slo_id"]]), a) for a in alerts
    ]
    for entry in policy_changes:
        slo_id = entry.entity_id
        assert isinstance(slo_id, int)
        before = (entry.before or {}).get("policy_state", "")
        sent.append(policy_changed(_subject(targets[slo_id], statuses[slo_id]), str(before)))
    if not sent:
        return []
    return notifications.publish_many(
        session,
        [
            notifications.Event(a.event_type, a.summary, a.data, service=a.service, link=a.path)
            for a in sent
        ],
    )


def _subject(target: Named, status: SLOStatus) -> Subject:
    return Subject(
        slo_id=target.slo_id,
        service=target.service,
        name=target.name,
        objective=status.objective.percent,
        budget_remaining=status.policy.remaining,
        policy_state=status.policy.state,
        policy_action=status.policy.action,
    )


def declare_incidents(
    session: Session,
    *,
    targets: Mapping[int, Named],
    alerts: Sequence[Mapping[str, Any]],
    since: Mapping[tuple[int, str], str | None],
) -> list[str]:
    """Incidents for the page alerts that started firing, where their service wants them
    (opsloop.incidents.from_slos); the keys declared."""
    pages = []
    for alert in alerts:
        started = since.get((alert["slo_id"], alert["alert"]))
        if alert["firing"] and alert["severity"] == "page" and started:
            target = targets[alert["slo_id"]]
            pages.append(
                from_slos.FiringPage(
                    target.slo_id,
                    target.service,
                    target.name,
                    alert["alert"],
                    datetime.fromisoformat(started),
                )
            )
    return [found.key for found in from_slos.declare_for_pages(session, pages)] if pages else []
