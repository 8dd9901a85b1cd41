"""The weekly alert review for any period: which alerts fired, which needed someone, which
flapped, and what to do with each. One query reads plain rows (no ORM objects) for the
instances that started in the period; :mod:`opsloop.alerts.review_math` does the rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.alerts.models import Alert
from opsloop.alerts.review_math import (
    Day,
    Instance,
    Summary,
    Thresholds,
    Totals,
    per_day,
    summarise,
    totals,
)
from opsloop.core.config import Settings

#: Heading of the per-service table for alerts that named no service.
NO_SERVICE = "(no service)"


@dataclass(frozen=True)
class Review:
    since: datetime
    until: datetime
    service: str | None
    totals: Totals
    by_name: list[Summary]
    by_service: list[Summary]
    days: list[Day]
    limits: Thresholds


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(
        flap_cycles=settings.alert_review_flap_cycles,
        flap_within=timedelta(minutes=settings.alert_review_flap_window_minutes),
        rarely_actionable=settings.alert_review_rarely_actionable,
        always_actionable=settings.alert_review_always_actionable,
        recurring=settings.alert_review_recurring,
        min_reviewed=settings.alert_review_min_reviewed,
    )


def instances(
    session: Session, *, since: datetime, until: datetime, service: str | None = None
) -> list[Instance]:
    query = select(
        Alert.name,
        Alert.service,
        Alert.severity,
        Alert.fingerprint,
        Alert.starts_at,
        Alert.ends_at,
        Alert.feedback,
        Alert.incident_id,
        Alert.acked_at,
        Alert.respond_by,
    ).where(Alert.starts_at >= since, Alert.starts_at < until)
    if service is not None:
        query = query.where(Alert.service == service)
    return [
        Instance(
            name=name,
            service=svc,
            severity=severity,
            fingerprint=fingerprint,
            starts_at=starts_at,
            ends_at=ends_at,
            feedback=feedback.value if feedback is not None else None,
            linked=incident_id is not None,
            acked_at=acked_at,
            respond_by=respond_by,
        )
        for (
            name,
            svc,
            severity,
            fingerprint,
            starts_at,
            ends_at,
            feedback,
            incident_id,
            acked_at,
            respond_by,
        ) in session.execute(query.order_by(Alert.starts_at))
    ]


def review(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    limits: Thresholds,
    service: str | None = None,
) -> Review:
    rows = instances(session, since=since, until=until, service=service)
    return Review(
        since=since,
        until=until,
        service=service,
        totals=totals(rows),
        by_name=summarise(rows, lambda r: r.name, limits),
        by_service=summarise(rows, lambda r: r.service or NO_SERVICE, limits),
        days=per_day(rows, since, until),
        limits=limits,
    )
