"""Alert use-cases: reading alert instances, acknowledging them, responder feedback, MTTA.

Receiving webhooks is in :mod:`opsloop.alerts.ingestion` (data plane); escalation of alerts
nobody acknowledged in time is in :mod:`opsloop.alerts.escalation`. Acknowledgement and
feedback are human actions, audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from opsloop.alerts.models import Alert, AlertStatus, Feedback
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.errors import Conflict, NotFound, ValidationFailed
from opsloop.core.schemas import MAX_ID
from opsloop.notifications.events import register_event_types

MAX_ACTION = 2000
ESCALATION = "alert.escalation"
register_event_types({ESCALATION: "an alert was not acknowledged within its response time"})


@dataclass(frozen=True)
class AlertFilter:
    status: AlertStatus | None = None
    service: str | None = None
    severity: str | None = None
    name: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class MTTA:
    name: str
    severity: str
    acknowledged: int
    mean_seconds: float


def conditions(flt: AlertFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if flt.status is not None:
        found.append(Alert.status == flt.status)
    if flt.service is not None:
        found.append(Alert.service == flt.service)
    if flt.severity is not None:
        found.append(Alert.severity == flt.severity)
    if flt.name is not None:
        found.append(Alert.name == flt.name)
    if flt.since is not None:
        found.append(Alert.starts_at >= flt.since)
    if flt.until is not None:
        found.append(Alert.starts_at < flt.until)
    return found


def list_alerts(
    session: Session, *, flt: AlertFilter, limit: int, before_id: int | None = None
) -> list[Alert]:
    """Newest first (by id, the order of arrival)."""
    query = select(Alert).where(*conditions(flt))
    if before_id is not None:
        query = query.where(Alert.id < before_id)
    return list(session.scalars(query.order_by(Alert.id.desc()).limit(limit)))


def get_alert(session: Session, *, alert_id: int) -> Alert:
    found = session.get(Alert, alert_id) if 0 < alert_id <= MAX_ID else None
    if found is None:
        raise NotFound(f"no alert {alert_id}", field="alert")
    return found


def open_alerts(session: Session, *, service: str) -> list[Alert]:
    """The firing alert instances of a service, oldest first (for incidents and on-call)."""
    query = select(Alert).where(Alert.service == service, Alert.status == AlertStatus.firing)
    return list(session.scalars(query.order_by(Alert.starts_at, Alert.id)))


def link_incident(session: Session, *, alert_ids: Sequence[int], incident_id: int) -> list[int]:
    """Attach alert instances to an incident, in the caller's transaction (which records the
    routing decision in its own audit trail); the ids linked. An instance already linked to
    another incident keeps that link."""
    linked = session.scalars(
        update(Alert)
        .where(Alert.id.in_(sorted(set(alert_ids))), Alert.incident_id.is_(None))
        .values(incident_id=incident_id)
        .returning(Alert.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(linked)


def alerts_of_incident(session: Session, *, incident_id: int) -> list[Alert]:
    """The alert instances linked to an incident, oldest first (the first one's start is the
    incident's detection time)."""
    query = select(Alert).where(Alert.incident_id == incident_id)
    return list(session.scalars(query.order_by(Alert.starts_at, Alert.id)))


def _locked(session: Session, alert_id: int) -> Alert:
    found = get_alert(session, alert_id=alert_id)
    session.refresh(found, with_for_update=True)
    return found


def acknowledge(session: Session, *, principal: Principal, alert_id: int) -> Alert:
    """Record who acknowledged the alert instance and when; acknowledging twice is refused."""
    require(principal, Role.responder)
    alert = _locked(session, alert_id)
    if alert.acked_at is not None:
        raise Conflict(
            f"alert {alert_id} was already acknowledged by {alert.acked_by}", field="alert"
        )
    now = clock.now()
    alert.acked_at, alert.acked_by = now, principal.actor
    alert.ack_seconds = max(0, int((now - alert.starts_at).total_seconds()))
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="alert.acknowledge",
        entity_type="alert",
        entity_id=alert.id,
        after={"acked_at": now.isoformat(), "ack_seconds": alert.ack_seconds},
    )
    return alert


def give_feedback(
    session: Session, *, principal: Principal, alert_id: int, verdict: Feedback, action: str = ""
) -> Alert:
    """Mark an alert instance actionable (with the action taken) or a false positive; a later
    verdict replaces an earlier one, and both are in the audit trail."""
    require(principal, Role.responder)
    action = action.strip()
    if len(action) > MAX_ACTION:
        raise ValidationFailed(f"action: at most {MAX_ACTION} characters", field="action")
    if verdict == Feedback.actionable and not action:
        raise ValidationFailed("action: say what was done for an actionable alert", field="action")
    alert = _locked(session, alert_id)
    before = {"feedback": alert.feedback.value if alert.feedback else None}
    before["action"] = alert.feedback_action
    alert.feedback, alert.feedback_action = verdict, action
    alert.feedback_by, alert.feedback_at = principal.actor, clock.now()
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="alert.feedback",
        entity_type="alert",
        entity_id=alert.id,
        before=before,
        after={"feedback": verdict.value, "action": action},
    )
    return alert


def mtta(session: Session, *, since: datetime | None = None) -> list[MTTA]:
    """Mean time to acknowledge per alert name and severity, over acknowledged instances
    (started at or after ``since``)."""
    query = (
        select(Alert.name, Alert.severity, func.count(), func.avg(Alert.ack_seconds))
        .where(Alert.ack_seconds.is_not(None))
        .group_by(Alert.name, Alert.severity)
        .order_by(Alert.name, Alert.severity)
    )
    if since is not None:
        query = query.where(Alert.starts_at >= since)
    return [
        MTTA(name, severity, int(count), float(mean))
        for name, severity, count, mean in session.execute(query)
    ]


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Alert.status, func.count()).group_by(Alert.status))
    return {str(status): int(count) for status, count in rows}


def by_ids(session: Session, ids: Sequence[int]) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.id.in_(ids)).order_by(Alert.id)))
