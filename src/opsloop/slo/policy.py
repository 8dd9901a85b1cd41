"""Error-budget policy: which state a service is in given the budget it has left.

A policy is an ordered list of tiers. Each tier's ``threshold`` is the remaining-budget fraction
at or below which that tier takes over, so the tiers read top-down the way the budget drains:

======================  ==========  ========================================
remaining budget        state       approver
======================  ==========  ========================================
more than 50 %          monitor     none (no approval needed)
more than 30 %, <= 50 % optimize    team lead
more than 10 %, <= 30 % mitigate    engineering manager
10 % or less            freeze      CTO (feature freeze, blocks changes)
======================  ==========  ========================================

Boundaries belong to the more cautious tier: exactly 50 % left is ``optimize``, exactly 30 % is
``mitigate`` and exactly 10 % is ``freeze``. The budget-policy text says "more than 50 %" for
monitor, and applying the same rule at every boundary avoids a one-off exception. "Exactly" is
decided with the same relative tolerance as alert thresholds: 0.07 % errors against a 0.1 % budget
leaves 1 - 0.7 = 0.30000000000000004 in floats, which is 30 % and so ``mitigate``. Overspent
budgets (negative remaining) fall into the lowest tier. Unknown budgets are ``no_data``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opsloop.slo.math import REL_TOLERANCE, NoData

__all__ = [
    "DEFAULT_POLICY",
    "NO_DATA_STATE",
    "ErrorBudgetPolicy",
    "PolicyDecision",
    "PolicyTier",
]

NO_DATA_STATE = "no_data"

_NO_DATA_ACTION = (
    "SLI data is missing; restore measurement before relying on the error budget for decisions"
)
_TIER_KEYS = frozenset({"threshold", "state", "action", "approver", "blocks_changes"})


@dataclass(frozen=True)
class PolicyTier:
    """One row of the policy: applies while remaining budget is at or below ``threshold``."""

    threshold: float
    state: str
    action: str
    approver: str | None = None
    blocks_changes: bool = False


@dataclass(frozen=True)
class PolicyDecision:
    """What the policy says for one remaining-budget value."""

    state: str
    action: str
    approver: str | None
    blocks_changes: bool
    remaining: float | NoData


def _validate_tier(index: int, tier: PolicyTier) -> None:
    where = f"policy tier {index} ({tier.state!r})"
    threshold = tier.threshold
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ValueError(f"{where}: threshold must be a number, got {threshold!r}")
    if not (math.isfinite(threshold) and 0.0 < threshold <= 1.0):
        raise ValueError(f"{where}: threshold must be within (0, 1], got {threshold!r}")
    if not isinstance(tier.state, str) or not tier.state.strip():
        raise ValueError(f"policy tier {index}: state must be a non-empty string")
    if tier.state == NO_DATA_STATE:
        raise ValueError(f"{where}: state {NO_DATA_STATE!r} is reserved for missing data")
    if not isinstance(tier.action, str):
        raise ValueError(f"{where}: action must be a string, got {tier.action!r}")
    if tier.approver is not None and (
        not isinstance(tier.approver, str) or not tier.approver.strip()
    ):
        raise ValueError(f"{where}: approver must be a non-empty string or omitted")
    if not isinstance(tier.blocks_changes, bool):
        raise ValueError(f"{where}: blocks_changes must be true or false")


def _tier_from_config(index: int, raw: object) -> PolicyTier:
    if not isinstance(raw, Mapping):
        raise ValueError(f"policy tier {index} must be a mapping, got {raw!r}")
    extra = set(raw) - _TIER_KEYS
    if extra:
        raise ValueError(f"policy tier {index}: unknown keys {', '.join(sorted(map(str, extra)))}")
    missing = {"threshold", "state", "action"} - set(raw)
    if missing:
        raise ValueError(f"policy tier {index}: missing {', '.join(sorted(missing))}")
    threshold, state, action = raw["threshold"], raw["state"], raw["action"]
    approver = raw.get("approver")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ValueError(f"policy tier {index}: threshold must be a number, got {threshold!r}")
    if not isinstance(state, str):
        raise ValueError(f"policy tier {index}: state must be a string, got {state!r}")
    if not isinstance(action, str):
        raise ValueError(f"policy tier {index}: action must be a string, got {action!r}")
    if approver is not None and not isinstance(approver, str):
        raise ValueError(f"policy tier {index}: approver must be a string, got {approver!r}")
    blocks_changes = raw.get("blocks_changes", state == "freeze")
    if not isinstance(blocks_changes, bool):
        raise ValueError(f"policy tier {index}: blocks_changes must be true or false")
    return PolicyTier(
        threshold=float(threshold),
        state=state,
        action=action,
        approver=approver,
        blocks_changes=blocks_changes,
    )


@dataclass(frozen=True)
class ErrorBudgetPolicy:
    """Ordered tiers from "plenty of budget" down to "budget gone".

    The first tier must start at 1.0 so every possible remaining value maps to a tier; thresholds
    must then strictly descend so no two tiers overlap.
    """

    tiers: tuple[PolicyTier, ...]

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError("an error-budget policy needs at least one tier")
        for index, tier in enumerate(self.tiers):
            _validate_tier(index, tier)
        if self.tiers[0].threshold != 1.0:
            raise ValueError(
                f"the first policy tier must have threshold 1.0 (the full budget) so every "
                f"remaining budget has a tier, got {self.tiers[0].threshold!r}"
            )
        for upper, lower in zip(self.tiers, self.tiers[1:], strict=False):
            if lower.threshold >= upper.threshold:
                raise ValueError(
                    "policy thresholds must strictly descend: "
                    f"{lower.state!r} ({lower.threshold!r}) follows "
                    f"{upper.state!r} ({upper.threshold!r})"
                )
        states = [tier.state for tier in self.tiers]
        duplicates = sorted({state for state in states if states.count(state) > 1})
        if duplicates:
            raise ValueError(f"policy states must be unique, repeated: {', '.join(duplicates)}")

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> ErrorBudgetPolicy:
        """Build a policy from configuration such as ``{"tiers": [{"threshold": 1.0, ...}]}``.

        Each tier takes ``threshold``, ``state``, ``action`` and optionally ``approver`` and
        ``blocks_changes``; the latter defaults to true only for a state named ``freeze``.
        Unknown keys are rejected so a typo cannot silently drop an approval requirement.
        """
        unknown = set(config) - {"tiers"}
        if unknown:
            raise ValueError(f"unknown policy keys: {', '.join(sorted(unknown))}")
        raw_tiers = config.get("tiers")
        if not isinstance(raw_tiers, Sequence) or isinstance(raw_tiers, str | bytes):
            raise ValueError("policy config needs a 'tiers' list")
        return cls(tiers=tuple(_tier_from_config(i, raw) for i, raw in enumerate(raw_tiers)))

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(tier.state for tier in self.tiers)

    def tier_for(self, state: str) -> PolicyTier:
        for tier in self.tiers:
            if tier.state == state:
                return tier
        raise KeyError(f"unknown policy state {state!r}; known: {', '.join(self.states)}")

    def blocks_changes(self, state: str) -> bool:
        """Whether changes are blocked in ``state``; ``no_data`` does not block by itself."""
        if state == NO_DATA_STATE:
            return False
        return self.tier_for(state).blocks_changes

    def decide(self, remaining: float | NoData) -> PolicyDecision:
        """The tier for a remaining-budget fraction (1.0 = untouched, negative = overspent)."""
        if isinstance(remaining, NoData):
            return PolicyDecision(
                state=NO_DATA_STATE,
                action=_NO_DATA_ACTION,
                approver=None,
                blocks_changes=False,
                remaining=remaining,
            )
        if isinstance(remaining, bool) or not isinstance(remaining, int | float):
            raise ValueError(f"remaining budget must be a number, got {remaining!r}")
        if math.isnan(remaining) or remaining > 1.0:
            raise ValueError(f"remaining budget must be at most 1.0, got {remaining!r}")
        chosen = self.tiers[-1]
        for tier in reversed(self.tiers):
            if remaining <= tier.threshold or math.isclose(
                remaining, tier.threshold, rel_tol=REL_TOLERANCE
            ):
                chosen = tier
                break
        return PolicyDecision(
            state=chosen.state,
            action=chosen.action,
            approver=chosen.approver,
            blocks_changes=chosen.blocks_changes,
            remaining=remaining,
        )


DEFAULT_POLICY = ErrorBudgetPolicy(
    tiers=(
        PolicyTier(
            threshold=1.0,
            state="monitor",
            action="Ship as usual and keep watching the budget.",
        ),
        PolicyTier(
            threshold=0.5,
            state="optimize",
            action="Prioritise reliability work alongside features; review risky changes.",
            approver="team lead",
        ),
        PolicyTier(
            threshold=0.3,
            state="mitigate",
            action="Put reliability work first; only low-risk changes with a rollback plan.",
            approver="engineering manager",
        ),
        PolicyTier(
            threshold=0.1,
            state="freeze",
            action="Feature freeze: only reliability fixes and security patches ship.",
            approver="CTO",
            blocks_changes=True,
        ),
    )
)
