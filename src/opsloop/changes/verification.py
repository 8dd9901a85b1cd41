"""Verification of a completed change: the service's SLIs in the hour before its window
started against the hour after it finished (rules in :mod:`opsloop.changes.impact_rules`).

Each run stores one row per SLO (``change_verifications``) and the verdict on the change. A
failed verification proposes a rollback: a warning on the change and the outbox event
``change.verification_failed`` to its requester and the service's team.

The scheduler verifies each completed change once, an hour after it finished
(:func:`claim_due`, then :func:`verify`): the claim is a conditional UPDATE of
``verification_claimed_at``, so several replicas running the job at once verify it once. The
claim commits on its own before the verification runs; one whose verification fails after
the claim is left to be verified by hand. People verify by hand at any time after completion
(``opsloop change verify``, ``POST /api/v1/changes/{key}/verify``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opsloop.changes import history, verification_events
from opsloop.changes.impact_rules import DEFAULT_VERIFY, Verdict, VerifyPolicy, judge_slo, overall
from opsloop.changes.models import Change
from opsloop.changes.rules import DEFAULT_POLICY, ChangePolicy, ChangeState
from opsloop.changes.service import ENTITY, WRITE_ROLE, add_warning, find_row, view_of
from opsloop.changes.verification_models import ChangeVerification
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal
from opsloop.core.auth.service import require
from opsloop.core.errors import Conflict
from opsloop.slo.prometheus import PrometheusClient
from opsloop.slo.sli_ranges import error_ratios_between, readings_by_id

HOUR = timedelta(hours=1)
#: How long after a change finished the job verifies it: the after-hour must be over.
VERIFY_AFTER = HOUR


@dataclass(frozen=True)
class SLOCheck:
    slo_id: int
    slo_ref: str
    objective: float
    before: float | None
    after: float | None
    burn_before: float | None
    burn_after: float | None
    verdict: str
    reason: str
    checked_at: datetime
    checked_by: str


@dataclass(frozen=True)
class VerificationView:
    key: str
    verdict: str | None
    verified_at: datetime | None
    before_start: datetime | None
    before_end: datetime | None
    after_start: datetime | None
    after_end: datetime | None
    checks: tuple[SLOCheck, ...]

    @property
    def rollback_proposed(self) -> bool:
        return self.verdict == Verdict.failed.value


def _reference(row: Change) -> datetime | None:
    """When the change began to touch the service: the earlier of its window and its start."""
    moments = [m for m in (row.window_start, row.started_at) if m is not None]
    return min(moments) if moments else None


def _ranges(row: Change, now: datetime) -> tuple[datetime, datetime, datetime, datetime] | None:
    began = _reference(row)
    if began is None or row.finished_at is None:
        return None
    return began - HOUR, began, row.finished_at, min(row.finished_at + HOUR, now)


def verify(
    session: Session,
    *,
    principal: Principal,
    key: str,
    prometheus: PrometheusClient | None = None,
    rules: VerifyPolicy = DEFAULT_VERIFY,
    policy: ChangePolicy = DEFAULT_POLICY,
) -> VerificationView:
    """Verify a completed change now (409 naming ``state`` for any other state)."""
    require(principal, WRITE_ROLE)
    row = find_row(session, key)
    if row.state != ChangeState.completed:
        raise Conflict(
            f"{row.key} is {row.state.value}; only a completed change is verified", field="state"
        )
    now = clock.now()
    ranges = _ranges(row, now)
    assert ranges is not None  # a completed change has started and finished
    before_start, before_end, after_start, after_end = ranges
    if after_end - after_start < timedelta(minutes=1):
        raise Conflict(f"{row.key} finished less than a minute ago; verify later", field="state")
    before = readings_by_id(
        error_ratios_between(
            session, service=row.service, start=before_start, end=before_end, prometheus=prometheus
        )
    )
    after = error_ratios_between(
        session, service=row.service, start=after_start, end=after_end, prometheus=prometheus
    )
    checks = []
    for reading in after:
        earlier = before.get(reading.slo_id)
        judged = judge_slo(
            earlier.error_ratio if earlier else None,
            reading.error_ratio,
            reading.budget_rate,
            rules,
        )
        reason = judged.reason
        if reading.no_data:
            reason = f"{reason}: {reading.no_data}"
        checks.append(
            ChangeVerification(
                change_id=row.id,
                slo_id=reading.slo_id,
                slo_ref=reading.ref,
                objective=reading.objective,
                before_ratio=earlier.error_ratio if earlier else None,
                after_ratio=reading.error_ratio,
                burn_before=judged.burn_before,
                burn_after=judged.burn_after,
                verdict=judged.verdict.value,
                reason=reason,
                checked_at=now,
                checked_by=principal.actor,
            )
        )
    session.add_all(checks)
    verdict = overall(Verdict(c.verdict) for c in checks)
    previous = row.verification
    history.set_field(session, row, principal, "verification", verdict.value)
    row.verified_at = now
    if row.verification_claimed_at is None:
        row.verification_claimed_at = now
    summary = [_plain(c) for c in checks]
    if verdict == Verdict.failed:
        failing = ", ".join(c.slo_ref for c in checks if c.verdict == Verdict.failed.value)
        add_warning(
            row,
            "verification",
            f"verification failed ({failing}): the SLIs are clearly worse than before the "
            "change; consider rolling it back",
        )
        verification_events.verification_failed(session, view_of(session, row, policy), summary)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="change.verify",
        entity_type=ENTITY,
        entity_id=row.key,
        before={"verification": previous},
        after={"verification": verdict.value, "slos": summary},
    )
    return verification_of(session, key=row.key)


def _plain(check: ChangeVerification) -> dict[str, object]:
    return {
        "slo": check.slo_ref,
        "before": check.before_ratio,
        "after": check.after_ratio,
        "burn_before": check.burn_before,
        "burn_after": check.burn_after,
        "verdict": check.verdict,
    }


def verification_of(session: Session, *, key: str) -> VerificationView:
    """The change's latest verification (no checks while it was never verified)."""
    row = find_row(session, key)
    checks: list[SLOCheck] = []
    if row.verified_at is not None:
        query = select(ChangeVerification).where(
            ChangeVerification.change_id == row.id,
            ChangeVerification.checked_at == row.verified_at,
        )
        checks = [
            SLOCheck(
                c.slo_id,
                c.slo_ref,
                c.objective,
                c.before_ratio,
                c.after_ratio,
                c.burn_before,
                c.burn_after,
                c.verdict,
                c.reason,
                c.checked_at,
                c.checked_by,
            )
            for c in session.scalars(query.order_by(ChangeVerification.slo_ref))
        ]
    ranges = _ranges(row, row.verified_at or clock.now())
    before_start, before_end, after_start, after_end = ranges or (None, None, None, None)
    return VerificationView(
        row.key,
        row.verification,
        row.verified_at,
        before_start,
        before_end,
        after_start,
        after_end,
        tuple(checks),
    )


def due(session: Session, *, now: datetime) -> list[int]:
    """Completed changes finished at least an hour ago and never claimed for verification."""
    query = select(Change.id).where(
        Change.state == ChangeState.completed,
        Change.finished_at.is_not(None),
        Change.finished_at <= now - VERIFY_AFTER,
        Change.verification_claimed_at.is_(None),
    )
    return list(session.scalars(query.order_by(Change.id)))


def claim(session: Session, *, change_id: int, now: datetime) -> bool:
    """Take the change for verification; False when another run took it first."""
    claimed = session.execute(
        update(Change)
        .where(Change.id == change_id, Change.verification_claimed_at.is_(None))
        .values(verification_claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def claim_due(session: Session, *, now: datetime) -> list[str]:
    """Claim every change due for verification that no other run claimed; their keys. Each
    claim is a conditional UPDATE: runs that listed the same change at once claim it once."""
    claimed = []
    for change_id in due(session, now=now):
        if claim(session, change_id=change_id, now=now):
            row = session.get(Change, change_id)
            assert row is not None
            claimed.append(row.key)
    return claimed
