"""API input and output of change requests and freezes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictInt

from opsloop.changes.freezes import FreezeView
from opsloop.changes.rules import ChangeModel, ChangeState, Decision, RiskLevel
from opsloop.changes.views import ChangeView, HistoryView
from opsloop.core.schemas import PlainStr, Schema, Timestamp

Title = Annotated[PlainStr, Field(min_length=1, max_length=200)]
LongText = Annotated[PlainStr, Field(max_length=20_000)]
Username = Annotated[PlainStr, Field(max_length=64)]
ServiceName = Annotated[PlainStr, Field(min_length=1, max_length=63)]
Category = Annotated[PlainStr, Field(min_length=1, max_length=32)]
Reason = Annotated[PlainStr, Field(min_length=1, max_length=20_000)]


class ChangeCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    title: Title
    service: ServiceName = Field(description="a service of the catalog")
    category: Category = Field(
        description="infrastructure, application, database, configuration, security, or one "
        "the deployment adds"
    )
    model: ChangeModel = ChangeModel.normal
    risk: RiskLevel = RiskLevel.medium
    description: LongText = ""
    impact_analysis: LongText = ""
    rollback_plan: LongText = Field(default="", description="required unless standard")
    requester: Username | None = Field(default=None, description="default: you")
    implementer: Username | None = None
    submit: bool = Field(default=False, description="submit at once instead of keeping a draft")


class ChangePatch(Schema):
    """Only the fields sent change. Service, category, model, risk and requester only until
    the change is approved."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    service: ServiceName | None = None
    category: Category | None = None
    model: ChangeModel | None = None
    risk: RiskLevel | None = None
    description: LongText | None = None
    impact_analysis: LongText | None = None
    rollback_plan: LongText | None = None
    requester: Username | None = None
    implementer: Username | None = None

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class DecisionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    comment: LongText = ""


class RejectIn(Schema):
    model_config = ConfigDict(extra="forbid")

    comment: Reason


class ScheduleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    window_start: Timestamp
    duration_minutes: Annotated[StrictInt, Field(ge=1, le=7 * 24 * 60)]


class NoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    note: LongText = ""


class ReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class RollbackIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: Reason
    incident_key: Annotated[PlainStr, Field(max_length=16)] | None = Field(
        default=None, description="INC-YYYY-NNN the change caused"
    )


class ApprovalOut(Schema):
    approver: str
    decision: Decision
    comment: str
    at: datetime


class WarningOut(Schema):
    at: datetime
    kind: str
    text: str


class ChangeRow(Schema):
    key: str
    title: str
    service: str
    category: str
    model: ChangeModel
    risk: RiskLevel
    state: ChangeState
    requester: str | None
    window_start: datetime | None
    window_end: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, found: ChangeView) -> ChangeRow:
        return cls(**{name: getattr(found, name) for name in cls.model_fields})


class ChangeOut(ChangeRow):
    description: str
    impact_analysis: str
    rollback_plan: str
    implementer: str | None
    submitted_at: datetime | None
    approved_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    outcome_reason: str
    incident_key: str | None
    gate_override_by: str | None
    gate_override_reason: str
    gate_override_at: datetime | None
    approvals: list[ApprovalOut]
    approvals_given: int
    approvals_needed: int
    emergency_approval_due: datetime | None
    non_compliant: bool = Field(description="an emergency change not approved in time")
    warnings: list[WarningOut]
    action_warnings: list[str] = Field(
        default_factory=list, description="what the action just taken warned of"
    )
    created_by: str
    updated_at: datetime

    @classmethod
    def detail(cls, found: ChangeView, warnings: tuple[str, ...] = ()) -> ChangeOut:
        values = {
            name: getattr(found, name)
            for name in cls.model_fields
            if name not in ("approvals", "warnings", "action_warnings")
        }
        return cls(
            **values,
            approvals=[ApprovalOut(**a.__dict__) for a in found.approvals],
            warnings=[WarningOut(**w.__dict__) for w in found.warnings],
            action_warnings=list(warnings),
        )


class HistoryOut(Schema):
    at: datetime
    actor: str
    field: str
    before: str | None
    after: str | None
    note: str

    @classmethod
    def of(cls, found: HistoryView) -> HistoryOut:
        return cls(**found.__dict__)


class FreezeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[PlainStr, Field(min_length=1, max_length=100)]
    starts_at: Timestamp
    ends_at: Timestamp
    service: ServiceName | None = Field(default=None, description="none: every service")
    reason: LongText = ""


class FreezeOut(Schema):
    id: int
    name: str
    starts_at: datetime
    ends_at: datetime
    service: str | None
    reason: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, found: FreezeView) -> FreezeOut:
        return cls(**found.__dict__)
