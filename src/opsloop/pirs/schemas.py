"""API input and output of post-incident reviews and the compliance views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from opsloop.core.schemas import PlainStr, Schema, Timestamp
from opsloop.pirs.compliance import ComplianceReport
from opsloop.pirs.content import Line, PirContent, ReviewMeeting, Text, TimelineEntry, WhyStep
from opsloop.pirs.views import IncidentFacts, PirView, RevisionView


class ImpactPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    users_affected: Annotated[int, Field(ge=0, le=10_000_000_000, strict=True)] | None = None
    revenue: Annotated[PlainStr, Field(max_length=200)] | None = None
    description: Text | None = None


class PirPatch(Schema):
    """Only the sections sent change; a list sent replaces the list."""

    model_config = ConfigDict(extra="forbid")

    summary: Text | None = None
    impact: ImpactPatch | None = None
    root_cause: Text | None = None
    whys: list[WhyStep] | None = Field(default=None, description="the chain, in order")
    contributing_factors: list[Line] | None = None
    timeline: list[TimelineEntry] | None = Field(default=None, description="replaces it")
    went_well: Text | None = None
    went_poorly: Text | None = None
    lessons_learned: Text | None = None

    def changes(self) -> dict[str, Any]:
        # exclude_unset reaches into impact: only its fields sent are merged.
        return self.model_dump(mode="json", exclude_unset=True)


class StateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    state: Annotated[PlainStr, Field(max_length=16, description="in_review or published")]


class TimelineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[PlainStr, Field(min_length=1, max_length=2000)]
    at: Timestamp | None = Field(default=None, description="default: now")
    kind: Annotated[str, Field(pattern=r"^[a-z_]{1,16}$")] = "note"


class IncidentOut(Schema):
    key: str
    title: str
    severity: str
    status: str
    started_at: datetime
    resolved_at: datetime | None
    duration_minutes: float | None
    services: list[str]

    @classmethod
    def of(cls, found: IncidentFacts) -> IncidentOut:
        return cls(
            key=found.key,
            title=found.title,
            severity=found.severity,
            status=found.status,
            started_at=found.started_at,
            resolved_at=found.resolved_at,
            duration_minutes=found.duration_minutes,
            services=list(found.services),
        )


class PirOut(Schema):
    key: str
    incident: IncidentOut
    state: str
    revision: int
    required: bool = Field(description="the incident's severity needs a review")
    due_at: datetime | None = Field(description="hours after resolution; none while open")
    overdue: bool
    content: PirContent
    review_meeting: ReviewMeeting | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    published_at: datetime | None

    @classmethod
    def of(cls, found: PirView) -> PirOut:
        return cls(
            key=found.key,
            incident=IncidentOut.of(found.incident),
            state=found.state.value,
            revision=found.revision,
            required=found.incident.required,
            due_at=found.incident.due_at,
            overdue=found.overdue,
            content=found.content,
            review_meeting=found.review_meeting,
            created_by=found.created_by,
            created_at=found.created_at,
            updated_by=found.updated_by,
            updated_at=found.updated_at,
            published_at=found.published_at,
        )


class PirRow(Schema):
    key: str
    title: str
    severity: str
    state: str
    revision: int
    required: bool
    due_at: datetime | None
    overdue: bool
    updated_at: datetime

    @classmethod
    def of(cls, found: PirView) -> PirRow:
        return cls(
            key=found.key,
            title=found.incident.title,
            severity=found.incident.severity,
            state=found.state.value,
            revision=found.revision,
            required=found.incident.required,
            due_at=found.incident.due_at,
            overdue=found.overdue,
            updated_at=found.updated_at,
        )


class RevisionOut(Schema):
    key: str
    revision: int
    published_by: str
    published_at: datetime
    content: PirContent
    review_meeting: ReviewMeeting | None

    @classmethod
    def of(cls, found: RevisionView) -> RevisionOut:
        return cls(
            key=found.incident.key,
            revision=found.revision,
            published_by=found.published_by,
            published_at=found.published_at,
            content=found.content,
            review_meeting=found.review_meeting,
        )


class OverdueReviewOut(Schema):
    key: str
    title: str
    severity: str
    resolved_at: datetime | None
    due_at: datetime | None
    pir_state: str | None = Field(description="null: no review started")
    hours_overdue: float


class LateResponseOut(Schema):
    key: str
    title: str
    severity: str
    declared_at: datetime
    due_at: datetime
    acknowledged_at: datetime | None
    state: str = Field(description="late: acknowledged late; overdue: still unacknowledged")
    minutes_late: float


class ComplianceOut(Schema):
    since: datetime
    now: datetime
    compliant: bool
    overdue_reviews: list[OverdueReviewOut]
    late_responses: list[LateResponseOut]

    @classmethod
    def of(cls, report: ComplianceReport) -> ComplianceOut:
        return cls(
            since=report.since,
            now=report.now,
            compliant=report.ok,
            overdue_reviews=[
                OverdueReviewOut(
                    key=r.incident.key,
                    title=r.incident.title,
                    severity=r.incident.severity,
                    resolved_at=r.incident.resolved_at,
                    due_at=r.incident.due_at,
                    pir_state=r.state.value if r.state else None,
                    hours_overdue=round(r.hours_overdue, 2),
                )
                for r in report.overdue_reviews
            ],
            late_responses=[
                LateResponseOut(
                    key=r.key,
                    title=r.title,
                    severity=r.severity,
                    declared_at=r.declared_at,
                    due_at=r.due_at,
                    acknowledged_at=r.acknowledged_at,
                    state=r.state,
                    minutes_late=round(r.minutes_late, 2),
                )
                for r in report.late_responses
            ],
        )
