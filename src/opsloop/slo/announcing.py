"""Hands an evaluation's alert and policy changes to the notification outbox, in the
evaluation's own transaction: the announcement commits with the change it announces, or not
at all (opsloop.notifications delivers it afterwards, outside any request or job)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from opsloop.core.audit import service as audit
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
