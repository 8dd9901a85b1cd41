"""Impact assessment: what changing a service in a window would run into, and the risk level
that suggests (the rules are in :mod:`opsloop.changes.impact_rules`).

It reads the service's budget state from the catalog (``budget_state``), open incidents from
the incident domain, firing alerts from the alert domain, freezes and other changes from this
domain, and the service's change failure rate for the category over the last 90 days.

Change failure rate: of the service's changes in the category that finished (completed, failed
or rolled back) in the 90 days, the share that failed, were rolled back, named an incident on
rollback, or that an incident names as its cause. None when none finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.alerts import service as alerts
from opsloop.changes import freezes, gate
from opsloop.changes import service as changes
from opsloop.changes.freezes import FreezeView
from opsloop.changes.impact_rules import RiskInputs, change_failure_rate, suggest_risk
from opsloop.changes.models import Change
from opsloop.changes.rules import (
    ACTIVE_STATES,
    DEFAULT_POLICY,
    ChangePolicy,
    ChangeState,
    RiskLevel,
    overlaps,
    parse_category,
)
from opsloop.changes.views import ChangeView
from opsloop.core import clock
from opsloop.core.errors import ValidationFailed
from opsloop.incidents import causes
from opsloop.incidents import service as incidents
from opsloop.services import service as catalog
from opsloop.services import usage

CFR_PERIOD = timedelta(days=90)
DEFAULT_DURATION = timedelta(hours=1)
MAX_DURATION = timedelta(days=7)
FINISHED = (ChangeState.completed, ChangeState.failed, ChangeState.rolled_back)
#: Changes still to come or under way: what a new one could collide with.
OPEN_STATES = (ChangeState.submitted, ChangeState.approved, *ACTIVE_STATES)


@dataclass(frozen=True)
class FailureRate:
    category: str | None
    finished: int
    failed: int
    failed_keys: tuple[str, ...]

    @property
    def rate(self) -> float | None:
        return change_failure_rate(self.finished, self.failed)


@dataclass(frozen=True)
class IncidentBrief:
    key: str
    title: str
    severity: str
    status: str
    started_at: datetime


@dataclass(frozen=True)
class AlertBrief:
    id: int
    name: str
    severity: str
    starts_at: datetime


@dataclass(frozen=True)
class Assessment:
    service: str
    category: str | None
    window_start: datetime
    window_end: datetime
    assessed_at: datetime
    budget: dict[str, Any]
    incidents: tuple[IncidentBrief, ...]
    alerts: tuple[AlertBrief, ...]
    changes: tuple[ChangeView, ...]
    freezes: tuple[FreezeView, ...]
    failure_rate: FailureRate
    risk: RiskLevel
    reasons: tuple[str, ...]
    change_key: str | None = None
    slos: tuple[dict[str, Any], ...] = field(default=())

    @property
    def gate_blocks(self) -> bool:
        return bool(self.budget.get("blocks_changes"))


def failure_rate(
    session: Session, *, service: str, category: str | None, now: datetime
) -> FailureRate:
    """The service's change failure rate (in ``category``, or all) over the last 90 days."""
    query = select(Change.key, Change.state, Change.incident_key).where(
        Change.service == service,
        Change.state.in_(list(FINISHED)),
        Change.finished_at.is_not(None),
        Change.finished_at >= now - CFR_PERIOD,
        Change.finished_at <= now,
    )
    if category:
        query = query.where(Change.category == category)
    rows = session.execute(query.order_by(Change.id)).all()
    named = causes.changes_named(session, keys=[r.key for r in rows])
    failed = tuple(
        r.key for r in rows if r.state != ChangeState.completed or r.incident_key or r.key in named
    )
    return FailureRate(category, len(rows), len(failed), failed)


def _window(start: datetime | None, duration: timedelta | None) -> tuple[datetime, datetime]:
    begin = start or clock.now()
    if begin.tzinfo is None:
        raise ValidationFailed("start: give a time zone (e.g. 2026-01-01T10:00:00Z)", field="start")
    length = duration if duration is not None else DEFAULT_DURATION
    if length <= timedelta(0) or length > MAX_DURATION:
        raise ValidationFailed("duration: more than 0 minutes and at most 7 days", field="duration")
    return begin, begin + length


def assess(
    session: Session,
    *,
    service: str,
    start: datetime | None = None,
    duration: timedelta | None = None,
    category: str | None = None,
    exclude_key: str | None = None,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> Assessment:
    """What changing ``service`` in the window (default: the next hour) would run into."""
    name = catalog.require_service(session, service.strip(), field="service").name
    checked_category = parse_category(policy, category) if category else None
    begin, end = _window(start, duration)
    now = clock.now()
    budget = usage.budget_state(session, name=name)
    verdict = gate.verdict(session, service=name)
    open_incidents = tuple(
        IncidentBrief(i.key, i.title, i.severity.value, i.status.value, i.started_at)
        for i in incidents.open_incidents(session, service=name)
    )
    firing = tuple(
        AlertBrief(a.id, a.name, a.severity, a.starts_at)
        for a in alerts.open_alerts(session, service=name)
    )
    others = _other_changes(session, name, begin, end, exclude_key, policy)
    frozen = tuple(freezes.blocking(session, service=name, start=begin, end=end))
    rate = failure_rate(session, service=name, category=checked_category, now=now)
    remaining = [
        s["budget_remaining"] for s in budget["slos"] if s.get("budget_remaining") is not None
    ]
    risk, reasons = suggest_risk(
        RiskInputs(
            gate_blocks=bool(verdict and verdict.blocks),
            open_incident_severities=tuple(i.severity for i in open_incidents),
            change_failure_rate=rate.rate,
            freezes=len(frozen),
            lowest_budget=min(remaining) if remaining else None,
            firing_alerts=len(firing),
            overlapping_changes=len(others),
        )
    )
    return Assessment(
        service=name,
        category=checked_category,
        window_start=begin,
        window_end=end,
        assessed_at=now,
        budget=budget,
        incidents=open_incidents,
        alerts=firing,
        changes=others,
        freezes=frozen,
        failure_rate=rate,
        risk=risk,
        reasons=reasons,
        change_key=exclude_key,
        slos=tuple(budget["slos"]),
    )


def _other_changes(
    session: Session,
    service: str,
    begin: datetime,
    end: datetime,
    exclude_key: str | None,
    policy: ChangePolicy,
) -> tuple[ChangeView, ...]:
    """Changes of any service whose window overlaps this one, and the service's changes under
    way (started, not finished) whatever their window."""
    found = {
        c.id: c
        for c in changes.changes_in_window(session, start=begin, end=end, policy=policy)
        if c.state in OPEN_STATES
        and c.window_start is not None
        and c.window_end is not None
        and overlaps(begin, end, c.window_start, c.window_end)
    }
    running = changes.list_changes(
        session, flt=changes.ChangeFilter(state=ChangeState.in_progress, service=service)
    )
    found.update({c.id: c for c in running})
    return tuple(
        c for c in sorted(found.values(), key=lambda c: c.id) if c.key != (exclude_key or "")
    )


def assess_change(
    session: Session, *, key: str, policy: ChangePolicy = DEFAULT_POLICY
) -> Assessment:
    """The assessment of an existing change: its service, category and window (or the next
    hour while it has none), leaving the change itself out of the overlaps."""
    found = changes.get_change(session, key=key, policy=policy)
    start = found.window_start
    duration = found.window_end - start if start and found.window_end else None
    if start is not None and found.started_at is None and start < clock.now():
        start = None
    return assess(
        session,
        service=found.service,
        start=start,
        duration=duration,
        category=found.category if found.category in policy.categories else None,
        exclude_key=found.key,
        policy=policy,
    )
