"""What the API answers for impact assessments and verifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from opsloop.changes.assessment import Assessment
from opsloop.changes.rules import RiskLevel
from opsloop.changes.schemas import ChangeRow, FreezeOut
from opsloop.changes.silencing import SilenceSettings
from opsloop.changes.verification import VerificationView
from opsloop.core.schemas import PlainStr, Schema


class IncidentBriefOut(Schema):
    key: str
    title: str
    severity: str
    status: str
    started_at: datetime


class AlertBriefOut(Schema):
    id: int
    name: str
    severity: str
    starts_at: datetime


class FailureRateOut(Schema):
    category: str | None
    period_days: int
    finished: int
    failed: int
    rate: float | None
    failed_keys: list[str]


class AssessmentOut(Schema):
    service: str
    category: str | None
    change_key: str | None
    window_start: datetime
    window_end: datetime
    assessed_at: datetime
    policy_state: str
    blocks_changes: bool
    approver: str | None
    slos: list[dict[str, Any]]
    open_incidents: list[IncidentBriefOut]
    firing_alerts: list[AlertBriefOut]
    other_changes: list[ChangeRow]
    freezes: list[FreezeOut]
    change_failure_rate: FailureRateOut
    suggested_risk: RiskLevel
    reasons: list[str]

    @classmethod
    def of(cls, found: Assessment) -> AssessmentOut:
        rate = found.failure_rate
        return cls(
            service=found.service,
            category=found.category,
            change_key=found.change_key,
            window_start=found.window_start,
            window_end=found.window_end,
            assessed_at=found.assessed_at,
            policy_state=str(found.budget.get("state")),
            blocks_changes=found.gate_blocks,
            approver=found.budget.get("approver"),
            slos=list(found.slos),
            open_incidents=[IncidentBriefOut(**i.__dict__) for i in found.incidents],
            firing_alerts=[AlertBriefOut(**a.__dict__) for a in found.alerts],
            other_changes=[ChangeRow.of(c) for c in found.changes],
            freezes=[FreezeOut.of(f) for f in found.freezes],
            change_failure_rate=FailureRateOut(
                category=rate.category,
                period_days=90,
                finished=rate.finished,
                failed=rate.failed,
                rate=rate.rate,
                failed_keys=list(rate.failed_keys),
            ),
            suggested_risk=found.risk,
            reasons=list(found.reasons),
        )


class SLOCheckOut(Schema):
    slo_id: int
    slo_ref: str
    objective: float
    before: float | None
    after: float | None
    burn_before: float | None
    burn_after: float | None
    verdict: str
    reason: str


class VerificationOut(Schema):
    key: str
    verdict: str | None
    verified_at: datetime | None
    rollback_proposed: bool
    before_start: datetime | None
    before_end: datetime | None
    after_start: datetime | None
    after_end: datetime | None
    slos: list[SLOCheckOut]

    @classmethod
    def of(cls, found: VerificationView) -> VerificationOut:
        return cls(
            key=found.key,
            verdict=found.verdict,
            verified_at=found.verified_at,
            rollback_proposed=found.rollback_proposed,
            before_start=found.before_start,
            before_end=found.before_end,
            after_start=found.after_start,
            after_end=found.after_end,
            slos=[
                SLOCheckOut(
                    slo_id=c.slo_id,
                    slo_ref=c.slo_ref,
                    objective=c.objective,
                    before=c.before,
                    after=c.after,
                    burn_before=c.burn_before,
                    burn_after=c.burn_after,
                    verdict=c.verdict,
                    reason=c.reason,
                )
                for c in found.checks
            ],
        )


class SilenceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    silence_alerts: bool
    matchers: Annotated[
        list[Annotated[PlainStr, Field(max_length=200)]] | None,
        Field(max_length=10, description='Alertmanager matchers; default service="<service>"'),
    ] = None


class SilenceOut(Schema):
    key: str
    silence_alerts: bool
    matchers: list[str]
    silence_id: int | None

    @classmethod
    def of(cls, found: SilenceSettings) -> SilenceOut:
        return cls(
            key=found.key,
            silence_alerts=found.silence_alerts,
            matchers=list(found.matchers),
            silence_id=found.silence_id,
        )
