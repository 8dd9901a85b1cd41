"""What compliance reports read of changes: emergency changes not approved in time, and
changes an admin let through the error-budget gate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.changes.models import Change
from opsloop.changes.rules import DEFAULT_POLICY, ChangeModel, ChangePolicy
from opsloop.changes.views import ChangeView, build_many
from opsloop.core import clock


def non_compliant_emergencies(
    session: Session, *, policy: ChangePolicy = DEFAULT_POLICY
) -> list[ChangeView]:
    """Emergency changes that started and were not approved within the allowed time after
    (approved late, or still unapproved once it has passed), earliest start first."""
    rows = session.scalars(
        select(Change)
        .where(Change.model == ChangeModel.emergency, Change.started_at.is_not(None))
        .order_by(Change.started_at, Change.id)
    )
    views = build_many(session, list(rows), now=clock.now(), policy=policy)
    return [v for v in views if v.non_compliant]


def gate_overrides(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> list[ChangeView]:
    """Changes let through the error-budget gate by an admin, by override time."""
    query = select(Change).where(Change.gate_override_at.is_not(None))
    if since is not None:
        query = query.where(Change.gate_override_at >= since)
    if until is not None:
        query = query.where(Change.gate_override_at < until)
    rows = list(session.scalars(query.order_by(Change.gate_override_at, Change.id)))
    return build_many(session, rows, now=clock.now(), policy=policy)
