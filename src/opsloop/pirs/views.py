"""What readers of a review get: its sections, its state and revision, and what comes from
the incident at read time (title, severity, times, the impact's duration, when the review is
due and whether it is overdue), so an edit of the incident never leaves a stale figure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsloop.incidents.views import IncidentView
from opsloop.pirs.content import PirContent, ReviewMeeting, load_content, load_meeting
from opsloop.pirs.models import Pir, PirRevision
from opsloop.pirs.rules import PirState, due_at, duration_minutes, is_overdue, is_required


@dataclass(frozen=True)
class Policy:
    """Which severities need a review, and how many hours after resolution it is due."""

    required: frozenset[str]
    due_hours: int


@dataclass(frozen=True)
class IncidentFacts:
    """The incident as a review shows it."""

    id: int
    key: str
    title: str
    severity: str
    status: str
    started_at: datetime
    resolved_at: datetime | None
    services: tuple[str, ...]
    required: bool
    due_at: datetime | None

    @property
    def duration_minutes(self) -> float | None:
        return duration_minutes(self.started_at, self.resolved_at)


def facts_of(found: IncidentView, policy: Policy) -> IncidentFacts:
    required = is_required(found.severity.value, policy.required)
    return IncidentFacts(
        id=found.id,
        key=found.key,
        title=found.title,
        severity=found.severity.value,
        status=found.status.value,
        started_at=found.started_at,
        resolved_at=found.resolved_at,
        services=found.services,
        required=required,
        due_at=due_at(found.resolved_at, policy.due_hours),
    )


@dataclass(frozen=True)
class PirView:
    id: int
    incident: IncidentFacts
    state: PirState
    revision: int
    content: PirContent
    review_meeting: ReviewMeeting | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    published_at: datetime | None
    overdue: bool

    @property
    def key(self) -> str:
        return self.incident.key

    def fields(self) -> dict[str, Any]:
        """What the audit trail records of a review."""
        return {
            "state": self.state.value,
            "revision": self.revision,
            "content": self.content.model_dump(mode="json"),
            "review_meeting": (
                self.review_meeting.model_dump(mode="json") if self.review_meeting else None
            ),
        }


def view_of(row: Pir, incident: IncidentFacts, now: datetime) -> PirView:
    return PirView(
        id=row.id,
        incident=incident,
        state=row.state,
        revision=row.revision,
        content=load_content(row.content),
        review_meeting=load_meeting(row.review_meeting),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        published_at=row.published_at,
        overdue=is_overdue(
            required=incident.required, due=incident.due_at, state=row.state, now=now
        ),
    )


@dataclass(frozen=True)
class RevisionView:
    incident: IncidentFacts
    revision: int
    content: PirContent
    review_meeting: ReviewMeeting | None
    published_by: str
    published_at: datetime
    state: PirState = PirState.published


def revision_of(row: PirRevision, incident: IncidentFacts) -> RevisionView:
    return RevisionView(
        incident=incident,
        revision=row.revision,
        content=load_content(row.content),
        review_meeting=load_meeting(row.review_meeting),
        published_by=row.published_by,
        published_at=row.published_at,
    )


@dataclass(frozen=True)
class PirDocument:
    """Everything a rendering shows: a review (the current one or a published revision), the
    incident, and the incident's action items."""

    incident: IncidentFacts
    state: PirState
    revision: int
    content: PirContent
    review_meeting: ReviewMeeting | None
    action_items: list[Any]
    published_at: datetime | None
