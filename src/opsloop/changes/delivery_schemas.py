"""API input and output of recorded deployments, DORA's keys and the compliance report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field

from opsloop.changes.compliance_report import Finding
from opsloop.changes.dora import DoraReport, DoraRow
from opsloop.changes.dora_math import Band
from opsloop.changes.recording import Recorded
from opsloop.changes.schemas import ChangeOut
from opsloop.core.schemas import Number, PlainStr, Schema, Timestamp


class RecordIn(Schema):
    model_config = ConfigDict(extra="forbid")

    service: Annotated[PlainStr, Field(min_length=1, max_length=63)]
    version: Annotated[PlainStr, Field(min_length=1, max_length=100)]
    status: Annotated[PlainStr, Field(max_length=16)] = Field(
        default="completed", description="completed or failed"
    )
    commit_sha: Annotated[PlainStr, Field(max_length=64)] | None = None
    committed_at: Timestamp | None = Field(default=None, description="where lead time starts")
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = Field(default=None, description="default: now")
    pipeline_run: Annotated[PlainStr, Field(max_length=200)] | None = Field(
        default=None, description="the CI run: with service and version, what makes it unique"
    )
    title: Annotated[PlainStr, Field(max_length=200)] | None = None
    category: Annotated[PlainStr, Field(max_length=32)] = "application"
    reason: Annotated[PlainStr, Field(max_length=20_000)] = ""


class RecordedOut(ChangeOut):
    version: str | None
    commit_sha: str | None
    committed_at: datetime | None
    pipeline_run: str | None
    created: bool = Field(description="false: recorded before, nothing written")

    @classmethod
    def recorded(cls, found: Recorded) -> RecordedOut:
        base = ChangeOut.detail(found.change, found.warnings).model_dump()
        return cls(**base, **found.delivery.__dict__, created=found.created)


class DoraBands(Schema):
    deployment_frequency: Band | None
    lead_time: Band | None
    change_failure_rate: Band | None
    time_to_restore: Band | None


class DoraRowOut(Schema):
    group: str
    since: datetime
    until: datetime
    deployments: int
    deploys_per_day: Number
    deploys_per_week: Number
    lead_time_median_seconds: Number | None
    lead_time_p90_seconds: Number | None
    lead_times: int = Field(description="completed changes with a lead time")
    finished: int = Field(description="completed, failed or rolled back")
    failures: int
    change_failure_rate: Number | None
    incidents: int = Field(description="resolved incidents the changes caused")
    time_to_restore_median_seconds: Number | None
    bands: DoraBands

    @classmethod
    def of(cls, row: DoraRow) -> DoraRowOut:
        return cls(
            group=row.group,
            since=row.since,
            until=row.until,
            deployments=row.deployments,
            deploys_per_day=row.deploys_per_day,
            deploys_per_week=row.deploys_per_week,
            lead_time_median_seconds=row.lead_time_median,
            lead_time_p90_seconds=row.lead_time_p90,
            lead_times=row.lead_times,
            finished=row.finished,
            failures=row.failures,
            change_failure_rate=row.failure_rate,
            incidents=row.incidents,
            time_to_restore_median_seconds=row.restore_median,
            bands=DoraBands(**row.bands),
        )


class DoraOut(Schema):
    since: datetime
    until: datetime
    by: str
    rows: list[DoraRowOut]
    total: DoraRowOut

    @classmethod
    def of(cls, report: DoraReport) -> DoraOut:
        return cls(
            since=report.since,
            until=report.until,
            by=report.by,
            rows=[DoraRowOut.of(r) for r in report.rows],
            total=DoraRowOut.of(report.total),
        )


class FindingOut(Schema):
    key: str
    title: str
    service: str
    model: str
    state: str
    started_at: datetime
    reasons: list[str]

    @classmethod
    def of(cls, found: Finding) -> FindingOut:
        return cls(
            key=found.key,
            title=found.title,
            service=found.service,
            model=found.model.value,
            state=found.state,
            started_at=found.started_at,
            reasons=list(found.reasons),
        )


class ComplianceOut(Schema):
    since: datetime
    until: datetime
    compliant: bool
    findings: list[FindingOut]
