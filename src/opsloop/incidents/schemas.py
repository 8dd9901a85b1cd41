"""API input and output of incidents."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictInt

from opsloop.core.schemas import PlainStr, Schema, Timestamp
from opsloop.incidents.lifecycle import TemplateView
from opsloop.incidents.resolution import ResolutionRecord
from opsloop.incidents.rules import Severity, Status
from opsloop.incidents.timeline import EventView
from opsloop.incidents.views import IncidentView, ResponseState
from opsloop.incidents.vocabulary import Audience, DetectionMethod, EventKind

Title = Annotated[PlainStr, Field(min_length=1, max_length=200)]
LongText = Annotated[PlainStr, Field(max_length=20_000)]
Name = Annotated[PlainStr, Field(max_length=127)]
Username = Annotated[PlainStr, Field(max_length=64)]
Names = Annotated[list[Name], Field(max_length=50)]
SeverityText = Annotated[PlainStr, Field(max_length=8, description="SEV1 to SEV4 (or 1 to 4)")]
Count = Annotated[StrictInt, Field(ge=0, le=10_000_000_000)]
Revenue = Annotated[PlainStr, Field(max_length=200, description="in words, e.g. ~3k EUR/h")]


class IncidentCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    title: Title
    severity: SeverityText
    summary: LongText = ""
    services: Names = Field(default_factory=list, description="services of the catalog")
    slos: Names = Field(default_factory=list, description="SLOs as service/name or id")
    detection_method: DetectionMethod = DetectionMethod.other
    commander: Username | None = None
    communications_lead: Username | None = None
    scribe: Username | None = None
    users_affected: Count | None = None
    features_impacted: Names = Field(default_factory=list)
    revenue_impact: Revenue = ""
    started_at: Timestamp | None = Field(default=None, description="default: now")
    detected_at: Timestamp | None = Field(default=None, description="default: now")


class IncidentPatch(Schema):
    """Only the fields sent change. Status moves through /status, acknowledgement through
    /acknowledge; the times of those are editable here once they are set."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    severity: SeverityText | None = None
    summary: LongText | None = None
    services: Names | None = None
    slos: Names | None = None
    detection_method: DetectionMethod | None = None
    commander: Username | None = None
    communications_lead: Username | None = None
    scribe: Username | None = None
    users_affected: Count | None = None
    features_impacted: Names | None = None
    revenue_impact: Revenue | None = None
    caused_by_change: Annotated[
        PlainStr | None, Field(max_length=16, description="CR-YYYY-NNN; null or '' clears")
    ] = None
    started_at: Timestamp | None = None
    detected_at: Timestamp | None = None
    declared_at: Timestamp | None = None
    acknowledged_at: Timestamp | None = None
    mitigated_at: Timestamp | None = None
    resolved_at: Timestamp | None = None
    closed_at: Timestamp | None = None

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class StatusIn(Schema):
    model_config = ConfigDict(extra="forbid")

    status: Status
    note: LongText = ""


class EventIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: EventKind
    text: Annotated[LongText, Field(min_length=1)]
    at: Timestamp | None = Field(default=None, description="default: now")


class UpdateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    audience: Audience = Audience.internal
    text: LongText | None = Field(default=None, description="default: the template filled in")
    template: Annotated[PlainStr, Field(max_length=32)] | None = Field(
        default=None, description="investigating, identified, monitoring or resolved"
    )
    next_update_at: Timestamp | None = Field(
        default=None, description="default: the severity's update interval from now"
    )


class TemplateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[PlainStr, Field(max_length=32)]
    audience: Audience
    body: Annotated[PlainStr, Field(max_length=4000)] | None = Field(
        description="null restores the shipped wording"
    )


class TemplatesIn(Schema):
    model_config = ConfigDict(extra="forbid")

    templates: Annotated[list[TemplateIn], Field(min_length=1, max_length=16)]


class TemplateOut(Schema):
    name: str
    audience: Audience
    body: str
    customised: bool

    @classmethod
    def of(cls, found: TemplateView) -> TemplateOut:
        return cls(**found.__dict__)


class TemplatesOut(Schema):
    templates: list[TemplateOut]
    placeholders: dict[str, str]


class ResponseOut(Schema):
    target_minutes: int
    due_at: datetime
    state: ResponseState = Field(
        description="met, late (acknowledged after the target), pending, overdue"
    )


class IncidentRow(Schema):
    key: str
    title: str
    severity: Severity
    status: Status
    services: list[str]
    commander: str | None
    started_at: datetime
    declared_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    next_update_at: datetime | None
    response: ResponseOut
    update_overdue: bool = Field(description="open and past the promised next update")

    @staticmethod
    def response_of(found: IncidentView, targets: dict[Severity, timedelta]) -> ResponseOut:
        return ResponseOut(
            target_minutes=int(targets[found.severity].total_seconds() // 60),
            due_at=found.response_due_at,
            state=found.response_state,
        )

    @classmethod
    def of(cls, found: IncidentView, targets: dict[Severity, timedelta]) -> IncidentRow:
        return cls(
            **{name: getattr(found, name) for name in _ROW_FIELDS},
            services=list(found.services),
            response=cls.response_of(found, targets),
        )


_ROW_FIELDS = (
    "key",
    "title",
    "severity",
    "status",
    "commander",
    "started_at",
    "declared_at",
    "acknowledged_at",
    "resolved_at",
    "next_update_at",
    "update_overdue",
)


class ResolutionOut(ResolutionRecord):
    time_to_detect_minutes: float
    time_to_resolve_minutes: float | None


class IncidentOut(IncidentRow):
    summary: str
    severity_definition: str
    detection_method: DetectionMethod
    communications_lead: str | None
    scribe: str | None
    slos: list[str]
    users_affected: int | None
    features_impacted: list[str]
    revenue_impact: str
    detected_at: datetime
    mitigated_at: datetime | None
    closed_at: datetime | None
    declared_by: str
    updated_at: datetime
    resolution_record: ResolutionOut
    caused_by_change: str | None = None

    @classmethod
    def of(cls, found: IncidentView, targets: dict[Severity, timedelta]) -> IncidentOut:
        return cls(
            **{name: getattr(found, name) for name in _ROW_FIELDS},
            services=list(found.services),
            response=cls.response_of(found, targets),
            summary=found.summary,
            severity_definition=found.severity.definition,
            detection_method=found.detection_method,
            communications_lead=found.communications_lead,
            scribe=found.scribe,
            slos=list(found.slos),
            users_affected=found.users_affected,
            features_impacted=list(found.features_impacted),
            revenue_impact=found.revenue_impact,
            detected_at=found.detected_at,
            mitigated_at=found.mitigated_at,
            closed_at=found.closed_at,
            declared_by=found.declared_by,
            updated_at=found.updated_at,
            resolution_record=ResolutionOut(**found.resolution.model_dump(), **found.durations()),
            caused_by_change=found.caused_by_change,
        )


class EventOut(Schema):
    id: int
    at: datetime
    kind: EventKind
    author: str
    text: str
    automatic: bool
    change: dict[str, Any] | None
    audience: Audience | None
    next_update_at: datetime | None

    @classmethod
    def of(cls, found: EventView) -> EventOut:
        return cls(**found.__dict__)
