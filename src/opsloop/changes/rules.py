"""The rules of a change request's life: its states and the moves between them, models, risk
levels and the approvals each needs, keys, windows, and the error-budget gate's verdict on a
service's budget state. Pure: no clock, database or network.

Moves (``MOVES``); any other answers 409:

====================  =====================================================================
from                  to
====================  =====================================================================
draft                 submitted (a standard change goes on to approved at once)
submitted             approved, rejected; in_progress (emergency changes only)
approved              scheduled
scheduled             scheduled (moved to another window), in_progress
in_progress           completed, failed, rolled_back
completed             rolled_back
====================  =====================================================================

Rejected, failed and rolled-back changes are final.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from opsloop.core.errors import Conflict, ValidationFailed

E = TypeVar("E", bound=StrEnum)


class ChangeState(StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    scheduled = "scheduled"
    in_progress = "in_progress"
    completed = "completed"
    failed = "failed"
    rolled_back = "rolled_back"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({ChangeState.rejected, ChangeState.failed, ChangeState.rolled_back})
#: States whose window still lies ahead or is running: what overlaps and calendars look at.
ACTIVE_STATES = frozenset({ChangeState.scheduled, ChangeState.in_progress})


class ChangeModel(StrEnum):
    """standard: routine and pre-approved; normal: goes through the CAB; emergency: may start
    at once and is approved afterwards."""

    standard = "standard"
    normal = "normal"
    emergency = "emergency"


class RiskLevel(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Decision(StrEnum):
    approve = "approve"
    reject = "reject"


DEFAULT_CATEGORIES = ("infrastructure", "application", "database", "configuration", "security")
DEFAULT_APPROVALS: Mapping[RiskLevel, int] = {
    RiskLevel.low: 1,
    RiskLevel.medium: 1,
    RiskLevel.high: 2,
}
DEFAULT_EMERGENCY_APPROVAL = timedelta(hours=24)

S = ChangeState
MOVES: Mapping[ChangeState, frozenset[ChangeState]] = {
    S.draft: frozenset({S.submitted}),
    S.submitted: frozenset({S.approved, S.rejected, S.in_progress}),
    S.approved: frozenset({S.scheduled}),
    S.rejected: frozenset(),
    S.scheduled: frozenset({S.scheduled, S.in_progress}),
    S.in_progress: frozenset({S.completed, S.failed, S.rolled_back}),
    S.completed: frozenset({S.rolled_back}),
    S.failed: frozenset(),
    S.rolled_back: frozenset(),
}


def check_move(model: ChangeModel, before: ChangeState, after: ChangeState) -> None:
    """Refuses (409) a move the table does not allow, and the one that depends on the model:
    only an emergency change starts before it is approved."""
    allowed = after in MOVES[before]
    if before == S.submitted and after == S.in_progress and model != ChangeModel.emergency:
        allowed = False
    if not allowed:
        raise Conflict(
            f"a {model.value} change cannot move from {before.value} to {after.value}",
            field="state",
        )


@dataclass(frozen=True)
class ChangePolicy:
    """What a deployment configures: categories, approvals needed per risk level and how long
    an emergency change may run before its approval is due."""

    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    approvals: Mapping[RiskLevel, int] | None = None
    emergency_approval: timedelta = DEFAULT_EMERGENCY_APPROVAL

    def approvals_needed(self, risk: RiskLevel) -> int:
        return (self.approvals or DEFAULT_APPROVALS)[risk]


DEFAULT_POLICY = ChangePolicy()


def change_policy(
    extra_categories: Sequence[str] = (),
    approvals: Mapping[str, int] | None = None,
    emergency_approval_hours: float = 24.0,
) -> ChangePolicy:
    """The policy with a deployment's settings applied over the defaults."""
    counts = dict(DEFAULT_APPROVALS)
    for name, count in (approvals or {}).items():
        risk = parse_choice(RiskLevel, name, f"change_approvals.{name}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValidationFailed(
                f"change_approvals.{name}: a whole number of approvals, at least 1",
                field=f"change_approvals.{name}",
            )
        counts[risk] = count
    categories = tuple(dict.fromkeys([*DEFAULT_CATEGORIES, *(c.strip() for c in extra_categories)]))
    return ChangePolicy(
        categories=tuple(c for c in categories if c),
        approvals=counts,
        emergency_approval=timedelta(hours=emergency_approval_hours),
    )


def parse_choice(kind: type[E], value: str, field: str) -> E:
    try:
        return kind(value.strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValidationFailed(f"{field}: {value!r} is not one of {allowed}", field=field) from None


def parse_category(policy: ChangePolicy, value: str, field: str = "category") -> str:
    text = value.strip().lower()
    if text not in policy.categories:
        allowed = ", ".join(policy.categories)
        raise ValidationFailed(f"{field}: {value!r} is not one of {allowed}", field=field)
    return text


def needs_rollback_plan(model: ChangeModel) -> bool:
    return model in (ChangeModel.normal, ChangeModel.emergency)


KEY_PATTERN = re.compile(r"^CR-(\d{4})-(\d{3,})$")


def change_key(year: int, number: int) -> str:
    """``CR-2026-007``: at least three digits, more once a year has over 999 changes."""
    return f"CR-{year:04d}-{number:03d}"


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open windows: one ending when the next starts does not overlap it."""
    return a_start < b_end and b_start < a_end


def emergency_approval_due(started_at: datetime, policy: ChangePolicy) -> datetime:
    return started_at + policy.emergency_approval


def emergency_non_compliant(
    started_at: datetime | None,
    approved_at: datetime | None,
    now: datetime,
    policy: ChangePolicy,
) -> bool:
    """An emergency change that started and was not approved within the allowed time after:
    approved late, or still unapproved once the time has passed."""
    if started_at is None:
        return False
    due = emergency_approval_due(started_at, policy)
    return (approved_at if approved_at is not None else now) > due


@dataclass(frozen=True)
class BlockingSLO:
    name: str
    state: str
    budget_remaining: float | None


@dataclass(frozen=True)
class GateVerdict:
    """What the error-budget policy of a change's service says now. ``blocks``: the policy
    blocks changes; ``slos``: the SLOs in a state that blocks them."""

    service: str
    blocks: bool
    policy_state: str
    approver: str | None
    slos: tuple[BlockingSLO, ...]

    def describe(self) -> str:
        named = ", ".join(
            f"SLO {s.name!r} ({s.state}, budget left {_percent(s.budget_remaining)})"
            for s in self.slos
        )
        who = f"; the policy names {self.approver} as approver" if self.approver else ""
        return (
            f"service {self.service!r} is in feature freeze under its error-budget policy "
            f"(state {self.policy_state!r}, blocks changes): {named or 'no SLO named'}{who}"
        )


def _percent(remaining: float | None) -> str:
    return "unknown" if remaining is None else f"{remaining * 100:.1f}%"


def gate_verdict(budget: Mapping[str, Any]) -> GateVerdict:
    """The verdict on the answer of ``opsloop.services.usage.budget_state``."""
    blocking_states = {
        str(tier.get("state"))
        for tier in budget.get("tiers") or []
        if isinstance(tier, Mapping) and tier.get("blocks_changes")
    }
    blocks = bool(budget.get("blocks_changes"))
    slos = tuple(
        BlockingSLO(str(s["name"]), str(s.get("state")), s.get("budget_remaining"))
        for s in budget.get("slos") or []
        if blocks and (s.get("state") in blocking_states or s.get("state") == budget.get("state"))
    )
    return GateVerdict(
        service=str(budget.get("service")),
        blocks=blocks,
        policy_state=str(budget.get("state")),
        approver=budget.get("approver"),
        slos=slos,
    )
