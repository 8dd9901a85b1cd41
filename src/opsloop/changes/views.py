"""What pages, the API and other domains read of a change: plain values, no rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.changes.models import Change, ChangeApproval, ChangeHistory
from opsloop.changes.rules import (
    ChangeModel,
    ChangePolicy,
    ChangeState,
    Decision,
    RiskLevel,
    emergency_approval_due,
    emergency_non_compliant,
)


@dataclass(frozen=True)
class ApprovalView:
    approver: str
    decision: Decision
    comment: str
    at: datetime


@dataclass(frozen=True)
class HistoryView:
    at: datetime
    actor: str
    field: str
    before: str | None
    after: str | None
    note: str


@dataclass(frozen=True)
class WarningView:
    at: datetime
    kind: str
    text: str


@dataclass(frozen=True)
class ChangeView:
    id: int
    key: str
    title: str
    description: str
    service: str
    category: str
    model: ChangeModel
    risk: RiskLevel
    state: ChangeState
    impact_analysis: str
    rollback_plan: str
    requester: str | None
    implementer: str | None
    window_start: datetime | None
    window_end: datetime | None
    submitted_at: datetime | None
    approved_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    outcome_reason: str
    incident_key: str | None
    gate_override_by: str | None
    gate_override_reason: str
    gate_override_at: datetime | None
    warnings: tuple[WarningView, ...]
    approvals: tuple[ApprovalView, ...]
    approvals_needed: int
    emergency_approval_due: datetime | None
    non_compliant: bool
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def approvals_given(self) -> int:
        return sum(1 for a in self.approvals if a.decision == Decision.approve)

    def fields(self) -> dict[str, Any]:
        """The change as the audit trail records it (JSON-safe)."""
        found = asdict(self)
        for name in ("approvals", "warnings", "id"):
            found.pop(name)
        shown: dict[str, Any] = json.loads(json.dumps(found, default=_plain))
        return shown


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def warnings_of(row: Change) -> tuple[WarningView, ...]:
    return tuple(
        WarningView(datetime.fromisoformat(w["at"]), w["kind"], w["text"])
        for w in json.loads(row.warnings or "[]")
    )


def build_many(
    session: Session, rows: Sequence[Change], *, now: datetime, policy: ChangePolicy
) -> list[ChangeView]:
    ids = [r.id for r in rows]
    decisions: dict[int, list[ApprovalView]] = {i: [] for i in ids}
    if ids:
        query = (
            select(ChangeApproval)
            .where(ChangeApproval.change_id.in_(ids))
            .order_by(ChangeApproval.at, ChangeApproval.id)
        )
        for a in session.scalars(query):
            decisions[a.change_id].append(ApprovalView(a.approver, a.decision, a.comment, a.at))
    found = []
    for row in rows:
        emergency = row.model == ChangeModel.emergency
        found.append(
            ChangeView(
                id=row.id,
                key=row.key,
                title=row.title,
                description=row.description,
                service=row.service,
                category=row.category,
                model=row.model,
                risk=row.risk,
                state=row.state,
                impact_analysis=row.impact_analysis,
                rollback_plan=row.rollback_plan,
                requester=row.requester,
                implementer=row.implementer,
                window_start=row.window_start,
                window_end=row.window_end,
                submitted_at=row.submitted_at,
                approved_at=row.approved_at,
                started_at=row.started_at,
                finished_at=row.finished_at,
                outcome_reason=row.outcome_reason,
                incident_key=row.incident_key,
                gate_override_by=row.gate_override_by,
                gate_override_reason=row.gate_override_reason,
                gate_override_at=row.gate_override_at,
                warnings=warnings_of(row),
                approvals=tuple(decisions[row.id]),
                approvals_needed=policy.approvals_needed(row.risk),
                emergency_approval_due=(
                    emergency_approval_due(row.started_at, policy)
                    if emergency and row.started_at
                    else None
                ),
                non_compliant=emergency
                and emergency_non_compliant(row.started_at, row.approved_at, now, policy),
                created_by=row.created_by,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
        )
    return found


def history_of(session: Session, change_id: int) -> list[HistoryView]:
    query = (
        select(ChangeHistory)
        .where(ChangeHistory.change_id == change_id)
        .order_by(ChangeHistory.at, ChangeHistory.id)
    )
    return [
        HistoryView(h.at, h.actor, h.field, h.before, h.after, h.note)
        for h in session.scalars(query)
    ]
