"""The compliance views over incidents: required reviews past their deadline and not
published (missing ones included), and incidents acknowledged later than their severity's
response target (or still unacknowledged past it). Incidents are read through the incident
service; "now" is the injectable clock's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.incidents import service as incidents
from opsloop.incidents.rules import DEFAULT_RESPONSE_TARGETS, Severity
from opsloop.incidents.views import IncidentView
from opsloop.pirs.reading import states_of
from opsloop.pirs.rules import PirState, is_overdue
from opsloop.pirs.service import DEFAULT_POLICY
from opsloop.pirs.views import IncidentFacts, Policy, facts_of

DEFAULT_WINDOW = timedelta(days=30)
_BATCH = 500


@dataclass(frozen=True)
class OverdueReview:
    incident: IncidentFacts
    #: None: no review was started.
    state: PirState | None
    hours_overdue: float


@dataclass(frozen=True)
class LateResponse:
    key: str
    title: str
    severity: str
    declared_at: datetime
    due_at: datetime
    acknowledged_at: datetime | None
    #: late: acknowledged after the target; overdue: still unacknowledged past it.
    state: str
    minutes_late: float


@dataclass(frozen=True)
class ComplianceReport:
    since: datetime
    now: datetime
    overdue_reviews: list[OverdueReview]
    late_responses: list[LateResponse]

    @property
    def ok(self) -> bool:
        return not self.overdue_reviews and not self.late_responses


def _incidents_since(
    session: Session, since: datetime, targets: Mapping[Severity, timedelta]
) -> Iterator[list[IncidentView]]:
    before: int | None = None
    flt = incidents.IncidentFilter(since=since)
    while True:
        batch = incidents.list_incidents(
            session, flt=flt, before_id=before, limit=_BATCH, targets=targets
        )
        if batch:
            yield batch
        if len(batch) < _BATCH:
            return
        before = batch[-1].id


def overdue_reviews_in(
    session: Session, batch: list[IncidentView], *, now: datetime, policy: Policy
) -> list[OverdueReview]:
    facts = [facts_of(found, policy) for found in batch]
    candidates = [f for f in facts if f.required and f.due_at is not None and now > f.due_at]
    states = states_of(session, [f.id for f in candidates])
    found = []
    for incident in candidates:
        state = states.get(incident.id)
        if is_overdue(required=True, due=incident.due_at, state=state, now=now):
            assert incident.due_at is not None
            hours = (now - incident.due_at).total_seconds() / 3600
            found.append(OverdueReview(incident=incident, state=state, hours_overdue=hours))
    return found


def _late(found: IncidentView, now: datetime) -> LateResponse | None:
    if found.response_state not in ("late", "overdue"):
        return None
    until = found.acknowledged_at or now
    return LateResponse(
        key=found.key,
        title=found.title,
        severity=found.severity.value,
        declared_at=found.declared_at,
        due_at=found.response_due_at,
        acknowledged_at=found.acknowledged_at,
        state=found.response_state,
        minutes_late=(until - found.response_due_at).total_seconds() / 60,
    )


def incident_compliance(
    session: Session,
    *,
    window: timedelta = DEFAULT_WINDOW,
    policy: Policy = DEFAULT_POLICY,
    targets: Mapping[Severity, timedelta] = DEFAULT_RESPONSE_TARGETS,
    now: datetime | None = None,
) -> ComplianceReport:
    """Findings over the incidents started within ``window`` before now, newest first."""
    now = now or clock.now()
    since = now - window
    reviews: list[OverdueReview] = []
    responses: list[LateResponse] = []
    for batch in _incidents_since(session, since, targets):
        reviews += overdue_reviews_in(session, batch, now=now, policy=policy)
        responses += [late for found in batch if (late := _late(found, now)) is not None]
    return ComplianceReport(since=since, now=now, overdue_reviews=reviews, late_responses=responses)
