"""A deployment recorded by a CI pipeline in one call: a standard change created,
pre-approved, started and finished in one transaction, with one audit record
(``change.record``).

A retried pipeline step must not count twice: the service, the version and the pipeline run
(when given) make the change's ``record_key``, and recording the same key again answers the
change already recorded and writes nothing. Every write transaction takes the database's write
lock first (the audit lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so the look-up before
the insert cannot race another recording; the unique index on the key is the backstop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.changes import freezes, gate, history
from opsloop.changes.models import Change
from opsloop.changes.rules import (
    DEFAULT_POLICY,
    ChangeModel,
    ChangePolicy,
    ChangeState,
    RiskLevel,
    change_key,
    parse_category,
    parse_choice,
)
from opsloop.changes.service import ENTITY, WRITE_ROLE, next_number, text, view_of
from opsloop.changes.views import ChangeView
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal
from opsloop.core.auth.service import require
from opsloop.core.errors import ValidationFailed
from opsloop.services import service as catalog

#: How a recorded deployment may end.
OUTCOMES = (ChangeState.completed, ChangeState.failed)


@dataclass(frozen=True)
class Delivery:
    """What a pipeline tells of a deployment besides the change's own fields."""

    version: str | None
    commit_sha: str | None
    committed_at: datetime | None
    pipeline_run: str | None


@dataclass(frozen=True)
class Recorded:
    change: ChangeView
    delivery: Delivery
    #: False when the same deployment was recorded before: nothing was written.
    created: bool
    warnings: tuple[str, ...] = ()


def delivery_of(row: Change) -> Delivery:
    return Delivery(row.version, row.commit_sha, row.committed_at, row.pipeline_run)


def record_key(service: str, version: str, pipeline_run: str | None) -> str:
    # A separator no checked name or version contains (control characters are refused).
    return "\x1f".join((service, version, pipeline_run or ""))


def _moment(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationFailed(
            f"{field}: give a time zone (e.g. 2026-01-01T10:00:00Z)", field=field
        )
    if value > clock.now():
        raise ValidationFailed(f"{field}: in the future", field=field)
    return value


def _sha(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    cleaned = value.strip().lower()
    if not (4 <= len(cleaned) <= 64) or any(c not in "0123456789abcdef" for c in cleaned):
        raise ValidationFailed("commit: 4 to 64 hexadecimal digits", field="commit")
    return cleaned


def find_recorded(
    session: Session, *, service: str, version: str, pipeline_run: str | None
) -> Change | None:
    key = record_key(service, version, pipeline_run)
    return session.scalar(select(Change).where(Change.record_key == key))


def record_deployment(
    session: Session,
    *,
    principal: Principal,
    service: str,
    version: str,
    status: str = "completed",
    commit_sha: str | None = None,
    committed_at: datetime | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    pipeline_run: str | None = None,
    title: str | None = None,
    category: str = "application",
    reason: str = "",
    policy: ChangePolicy = DEFAULT_POLICY,
) -> Recorded:
    """Record a deployment that a pipeline ran. Times default to now (a start without a
    finish finishes now; a finish without a start started then). A failed one needs no
    reason but keeps the one given. The error-budget gate and freezes cannot stop what has
    already happened: they are kept on the change as warnings."""
    require(principal, WRITE_ROLE)
    name = catalog.require_service(session, service.strip(), field="service").name
    version = text(version, "version", limit=100, required=True)
    run = text(pipeline_run or "", "pipeline_run", limit=200) or None
    outcome = parse_choice(ChangeState, status, "status")
    if outcome not in OUTCOMES:
        raise ValidationFailed("status: completed or failed", field="status")
    found = find_recorded(session, service=name, version=version, pipeline_run=run)
    if found is not None:
        return Recorded(view_of(session, found, policy), delivery_of(found), created=False)
    now = clock.now()
    finished = _moment(finished_at, "finished_at") or now
    started = _moment(started_at, "started_at") or finished
    committed = _moment(committed_at, "committed_at")
    if started > finished:
        raise ValidationFailed("started_at: after finished_at", field="started_at")
    if committed is not None and committed > started:
        raise ValidationFailed("committed_at: after the deployment started", field="committed_at")
    sha = _sha(commit_sha)
    heading = text(title or f"Deploy {name} {version}", "title", limit=200, required=True)
    row = Change(
        title=heading,
        description=text(reason, "reason"),
        service=name,
        category=parse_category(policy, category),
        model=ChangeModel.standard,
        risk=RiskLevel.low,
        state=outcome,
        impact_analysis="",
        rollback_plan="",
        requester=None,
        implementer=None,
        window_start=started,
        window_end=finished,
        submitted_at=started,
        approved_at=started,
        started_at=started,
        finished_at=finished,
        outcome_reason=text(reason, "reason") if outcome == ChangeState.failed else "",
        gate_override_reason="",
        warnings="[]",
        version=version,
        commit_sha=sha,
        committed_at=committed,
        pipeline_run=run,
        record_key=record_key(name, version, run),
        created_by=principal.actor,
        created_at=now,
        updated_at=now,
    )
    row.year = now.year
    row.number = next_number(session, now.year)
    row.key = change_key(row.year, row.number)
    session.add(row)
    session.flush()
    warnings = _warnings(session, row)
    if warnings:
        row.warnings = json.dumps(
            [{"at": now.isoformat(), "kind": "recorded", "text": w} for w in warnings]
        )
    steps = [
        (None, ChangeState.draft, ""),
        (ChangeState.draft, ChangeState.submitted, ""),
        (ChangeState.submitted, ChangeState.approved, "standard change: pre-approved"),
        (ChangeState.approved, ChangeState.in_progress, ""),
        (
            ChangeState.in_progress,
            outcome,
            f"recorded by pipeline run {run}" if run else "recorded",
        ),
    ]
    for before, after, note in steps:
        history.record(
            session,
            change_id=row.id,
            principal=principal,
            field="state",
            before=before,
            after=after,
            note=note,
        )
    found_view = view_of(session, row, policy)
    delivery = delivery_of(row)
    audit.record(
        session,
        principal=principal,
        action="change.record",
        entity_type=ENTITY,
        entity_id=row.key,
        after={
            **found_view.fields(),
            "version": delivery.version,
            "commit_sha": delivery.commit_sha,
            "committed_at": committed.isoformat() if committed else None,
            "pipeline_run": delivery.pipeline_run,
        },
    )
    return Recorded(found_view, delivery, created=True, warnings=tuple(warnings))


def _warnings(session: Session, row: Change) -> list[str]:
    assert row.started_at is not None and row.finished_at is not None
    found = []
    verdict = gate.verdict(session, service=row.service)
    if verdict is not None and verdict.blocks:
        found.append(f"deployed while the error-budget gate was closed: {verdict.describe()}")
    span = {"start": row.started_at, "end": row.finished_at}
    for frozen in freezes.blocking(session, service=row.service, **span):
        found.append(f"deployed during {frozen.describe()}")
    return found
