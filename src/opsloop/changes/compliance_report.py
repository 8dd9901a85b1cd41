"""The compliance report: every change executed (started) in a period that broke a rule, with
the reasons. What counts:

- approval: a normal change that started without the approvals its risk needs (approvals given
  before it started); an emergency change not approved within the allowed hours of its start
  (or still unapproved once they passed); a standard change is pre-approved, unless the report
  requires CAB approval of every change (``require_cab_approval``);
- rollback plan: missing where the model needs one, or on any change when the report requires
  one of every change (``require_rollback_plan``);
- the error-budget gate overridden by an admin;
- the window: started before it opened, or finished after it closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.changes.models import Change
from opsloop.changes.rules import DEFAULT_POLICY, ChangeModel, ChangePolicy, needs_rollback_plan
from opsloop.changes.views import ChangeView, build_many
from opsloop.core import clock
from opsloop.core.errors import ValidationFailed


@dataclass(frozen=True)
class Finding:
    key: str
    title: str
    service: str
    model: ChangeModel
    state: str
    started_at: datetime
    reasons: tuple[str, ...]


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def reasons_of(
    change: ChangeView,
    *,
    policy: ChangePolicy,
    require_cab_approval: bool = False,
    require_rollback_plan: bool = False,
) -> list[str]:
    """Why ``change`` (which started) was not compliant; empty when it was."""
    assert change.started_at is not None
    found: list[str] = []
    started = change.started_at
    if change.model == ChangeModel.normal:
        before = [a for a in change.approvals if a.decision.value == "approve" and a.at <= started]
        if len(before) < change.approvals_needed:
            found.append(
                f"approval: started with {len(before)} of the {change.approvals_needed} "
                f"approvals a {change.risk.value}-risk change needs"
            )
    elif change.model == ChangeModel.emergency:
        if change.non_compliant:
            hours = policy.emergency_approval.total_seconds() / 3600
            when = (
                f"approved {_time(change.approved_at)}" if change.approved_at else "never approved"
            )
            found.append(
                f"approval: emergency change not approved within {hours:g} hours of its start "
                f"({when})"
            )
    elif require_cab_approval and change.approvals_given == 0:
        found.append("approval: standard change with no CAB approval (pre-approved only)")
    if not change.rollback_plan.strip() and (
        require_rollback_plan or needs_rollback_plan(change.model)
    ):
        found.append("rollback plan: none recorded")
    if change.gate_override_at is not None:
        found.append(
            f"gate overridden: the error-budget gate was overridden by {change.gate_override_by}"
            f" ({change.gate_override_reason})"
        )
    if change.window_start is not None and started < change.window_start:
        found.append(
            f"window: started {_time(started)}, before its window opened "
            f"{_time(change.window_start)}"
        )
    finished = change.finished_at
    if change.window_end is not None and finished is not None and finished > change.window_end:
        found.append(
            f"window: finished {_time(finished)}, after its window closed "
            f"{_time(change.window_end)}"
        )
    return found


def compliance_report(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    require_cab_approval: bool = False,
    require_rollback_plan: bool = False,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> list[Finding]:
    """Changes started in [since, until) that broke a rule, earliest start first."""
    if since >= until:
        raise ValidationFailed("since: must be before until", field="since")
    rows = list(
        session.scalars(
            select(Change)
            .where(
                Change.started_at.is_not(None),
                Change.started_at >= since,
                Change.started_at < until,
            )
            .order_by(Change.started_at, Change.id)
        )
    )
    found = []
    for change in build_many(session, rows, now=clock.now(), policy=policy):
        reasons = reasons_of(
            change,
            policy=policy,
            require_cab_approval=require_cab_approval,
            require_rollback_plan=require_rollback_plan,
        )
        if reasons:
            assert change.started_at is not None
            found.append(
                Finding(
                    key=change.key,
                    title=change.title,
                    service=change.service,
                    model=change.model,
                    state=change.state.value,
                    started_at=change.started_at,
                    reasons=tuple(reasons),
                )
            )
    return found
