"""Pushed events, the data plane: validate batches, store them, record who pushed what.

Pushes are not audited: each accepted push is recorded in ``slo_event_pushes`` (time, actor,
request id, the SLOs and minutes covered; one row per push, :mod:`opsloop.slo.push_records`) so
ingestion never takes the audit lock and pushes to different SLOs never wait for each other.

The API sends pushes through a group commit (:mod:`opsloop.core.group_commit`): every push
queued in a process is validated and stored by :func:`store_pushes` in one transaction, each
with its own outcome, so one commit serves many requests. Several pushes to the same SLO in one
group apply in arrival order: a later count for a minute replaces an earlier one, as it would
in separate transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from opsloop.core import clock, generations, group_commit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.db import Database
from opsloop.core.errors import NotFound, OpsloopError, ValidationFailed
from opsloop.core.requestctx import current_request_id
from opsloop.slo import events, push_records
from opsloop.slo.models import SLO
from opsloop.slo.push_targets import Found, Target, resolve
from opsloop.slo.service import parse_stored
from opsloop.slo.status import oldest_counted
from opsloop.slo.windows import DEFAULT_ALERT_WINDOWS

Raw = tuple[datetime, int, int]
Batches = dict[int, list[events.MinuteCount]]
#: Every SLO counts at least this far back: a rolling window must be longer than the longest
#: alert window, and a calendar period is at least a week. Minutes this recent need no look at
#: the SLO's window, so a push of recent minutes never parses its spec.
SURELY_COUNTED = max(row.long_window for row in DEFAULT_ALERT_WINDOWS)


@dataclass(frozen=True)
class OnePush:
    """Counts for one SLO, named by id; all of them are stored, or none."""

    slo_id: int
    raw: Sequence[Raw]
    principal: Principal
    request_id: str


@dataclass(frozen=True)
class BulkPush:
    """Counts for several SLOs, each named by id, ``service/name`` or a unique bare name; any
    bad item rejects the whole request, naming its index."""

    items: Sequence[tuple[str, Raw]]
    principal: Principal
    request_id: str


Push = OnePush | BulkPush


@dataclass(frozen=True)
class Checked:
    """A push validated before its group took the write lock (:func:`check_pushes`), against
    the SLOs as they stood at ``generation`` of the counter ``slos``: what it would store, or
    the error it answers with."""

    push: Push
    generation: int
    outcome: Batches | OpsloopError


async def submit(db: Database, push: Push) -> int:
    """Queue a push for this process's group commit; the number of minutes accepted once it has
    committed. Raises the push's own error, or ``group_commit.QueueFull``."""
    require(push.principal, Role.responder)
    check = check_pushes if db.dialect == "sqlite" else None
    return await group_commit.writer(db, "slo-pushes", store_pushes, prepare=check).submit(push)


def push_events(session: Session, *, principal: Principal, slo: SLO, raw: Sequence[Raw]) -> int:
    """Store a batch of minute counts for a pushed SLO in the caller's transaction."""
    return _one(session, OnePush(slo.id, raw, principal, current_request_id()))


def push_bulk(session: Session, *, principal: Principal, items: Sequence[tuple[str, Raw]]) -> int:
    """Counts for several SLOs in the caller's transaction (see :class:`BulkPush`)."""
    return _one(session, BulkPush(items, principal, current_request_id()))


def _one(session: Session, push: Push) -> int:
    require(push.principal, Role.responder)
    outcome = store_pushes(session, [push])[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def check_pushes(db: Database, pushes: Sequence[Push | Checked]) -> list[Push | Checked]:
    """Validate a group before it takes SQLite's write lock, which every writer of every
    process waits for: looking SLOs up and checking minutes is most of a bulk push's work.
    The SLOs are read with the counter ``slos`` in one read transaction (one snapshot);
    :func:`store_pushes` uses the outcome only if the counter has not moved since."""
    plain = [p.push if isinstance(p, Checked) else p for p in pushes]
    with db.read() as session:
        generation = generations.current(session, "slos")
        if generation is None:
            return list(plain)
        found = resolve(session, *_named(plain))
    bounds = _Bounds(clock.now())
    checked: list[Push | Checked] = []
    for push in plain:
        try:
            outcome: Batches | OpsloopError = _batches(push, found, bounds)
        except OpsloopError as exc:
            outcome = exc
        checked.append(Checked(push, generation, outcome))
    return checked


def store_pushes(session: Session, pushes: Sequence[Push | Checked]) -> list[int | Exception]:
    """Validate every push against its SLOs and store the valid ones, in one transaction.

    One outcome per push: the minutes accepted, or the error it answers with (nothing of that
    push is written). A push checked before the transaction (:class:`Checked`) is not checked
    again unless the SLOs have changed since."""
    generation = None
    if any(isinstance(p, Checked) for p in pushes):
        generation = generations.current(session, "slos")
    unchecked = [
        p.push if isinstance(p, Checked) else p
        for p in pushes
        if not (isinstance(p, Checked) and p.generation == generation)
    ]
    found: Found = resolve(session, *_named(unchecked)) if unchecked else ({}, {})
    now = clock.now()
    bounds = _Bounds(now)
    merged: dict[int, dict[datetime, events.MinuteCount]] = {}
    accepted: list[tuple[Push, Batches]] = []
    outcomes: list[int | Exception] = []
    for item in pushes:
        if isinstance(item, Checked) and item.generation == generation:
            push, outcome = item.push, item.outcome
        else:
            push = item.push if isinstance(item, Checked) else item
            try:
                outcome = _batches(push, found, bounds)
            except OpsloopError as exc:
                outcome = exc
        if isinstance(outcome, OpsloopError):
            outcomes.append(outcome)
            continue
        for slo_id, counts in outcome.items():
            minutes = merged.setdefault(slo_id, {})
            for count in counts:
                minutes[count.minute] = count
        accepted.append((push, outcome))
        outcomes.append(sum(len(counts) for counts in outcome.values()))
    if merged:
        events.ingest(
            session,
            {slo_id: sorted(m.values(), key=_minute) for slo_id, m in merged.items()},
            locked=True,
            records=_records(now, accepted),
        )
    return outcomes


def _named(pushes: Sequence[Push]) -> tuple[set[int], set[str]]:
    """The SLO ids and references a group names."""
    ids = {p.slo_id for p in pushes if isinstance(p, OnePush)}
    refs = {ref for p in pushes if isinstance(p, BulkPush) for ref, _ in p.items}
    return ids, refs


def _batches(push: Push, found: Found, bounds: _Bounds) -> Batches:
    """What one push stores, per SLO; raises the push's error."""
    by_id, by_ref = found
    if isinstance(push, OnePush):
        target = by_id.get(push.slo_id)
        if target is None:
            raise NotFound(f"no SLO {push.slo_id!r}", field="slo")
        return {target.id: _validated(target, push.raw, bounds)}
    return _bulk_batches(push, by_ref, bounds)


def _minute(count: events.MinuteCount) -> datetime:
    return count.minute


def _bulk_batches(
    push: BulkPush,
    by_ref: dict[str, Target | OpsloopError | None],
    bounds: _Bounds,
) -> Batches:
    grouped: dict[int, list[int]] = {}
    targets: dict[int, Target] = {}
    for index, (ref, _) in enumerate(push.items):
        target = by_ref.get(ref)
        if isinstance(target, OpsloopError):
            raise target
        if target is None:
            where = f"events[{index}].slo"
            raise ValidationFailed(f"{where}: no SLO {ref!r}", field=where)
        grouped.setdefault(target.id, []).append(index)
        targets[target.id] = target
    return {
        slo_id: _validated(
            targets[slo_id], [push.items[i][1] for i in indexes], bounds, indexes=indexes
        )
        for slo_id, indexes in grouped.items()
    }


class _Bounds:
    """The oldest minute each SLO of a group accepts, worked out once per group and SLO."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.recent = events.floor_minute(now - SURELY_COUNTED)
        self._oldest: dict[int, datetime] = {}

    def oldest(self, target: Target, raw: Sequence[Raw]) -> datetime:
        recent = self.recent
        if all(at.tzinfo is not None and at >= recent for at, _, _ in raw):
            return recent
        found = self._oldest.get(target.id)
        if found is None:
            # parse_stored is cached by spec text: a spec is parsed once per process.
            spec = parse_stored(target.spec)
            found = self._oldest[target.id] = events.floor_minute(oldest_counted(spec, self.now))
        return found


def _validated(
    target: Target,
    raw: Sequence[Raw],
    bounds: _Bounds,
    *,
    indexes: list[int] | None = None,
) -> list[events.MinuteCount]:
    if target.source != "push":
        raise ValidationFailed(
            f"SLO {target.service}/{target.name} reads its SLI from Prometheus; "
            "it takes no pushed events",
            field="slo" if indexes is None else f"events[{indexes[0]}].slo",
        )
    oldest = bounds.oldest(target, raw)
    return events.validate_batch(raw, now=bounds.now, oldest=oldest, positions=indexes)


def _records(received_at: datetime, accepted: list[tuple[Push, Batches]]) -> list[tuple[Any, ...]]:
    """The push records (``event_writes.PUSHES`` rows) of the accepted pushes."""
    rows: list[tuple[Any, ...]] = []
    for push, batches in accepted:
        covered = [
            push_records.Covered(slo_id, len(counts), counts[0].minute, counts[-1].minute)
            for slo_id, counts in sorted(batches.items())
        ]
        rows.append(
            (
                received_at,
                push.principal.actor,
                push.request_id,
                sum(c.minutes for c in covered),
                min(c.first_minute for c in covered),
                max(c.last_minute for c in covered),
                push_records.encode(covered),
            )
        )
    return rows
