"""Pushed events, the data plane: validate batches, store them, record who pushed what.

Pushes are not audited: each accepted batch is recorded in ``slo_event_pushes`` (SLO, time,
actor, request id, minutes covered) so ingestion never takes the audit lock and pushes to
different SLOs never wait for each other.

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
from typing import Any, NamedTuple

from sqlalchemy import bindparam, or_, select, tuple_
from sqlalchemy.orm import Session

from opsloop.core import clock, group_commit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.db import Database
from opsloop.core.errors import NotFound, OpsloopError, ValidationFailed
from opsloop.core.requestctx import current_request_id
from opsloop.core.schemas import MAX_ID
from opsloop.slo import event_writes, events
from opsloop.slo.models import SLO
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


class Target(NamedTuple):
    """What validating a push needs of its SLO, read without ORM objects."""

    id: int
    service: str
    name: str
    source: str
    spec: str


async def submit(db: Database, push: Push) -> int:
    """Queue a push for this process's group commit; the number of minutes accepted once it has
    committed. Raises the push's own error, or ``group_commit.QueueFull``."""
    require(push.principal, Role.responder)
    return await group_commit.writer(db, "slo-pushes", store_pushes).submit(push)


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


def store_pushes(session: Session, pushes: Sequence[Push]) -> list[int | Exception]:
    """Validate every push against its SLOs and store the valid ones, in one transaction.

    One outcome per push: the minutes accepted, or the error it answers with (nothing of that
    push is written)."""
    ids = {p.slo_id for p in pushes if isinstance(p, OnePush)}
    refs = {ref for p in pushes if isinstance(p, BulkPush) for ref, _ in p.items}
    by_id, by_ref = _lookup(session, ids, refs)
    now = clock.now()
    bounds = _Bounds(now)
    merged: dict[int, dict[datetime, events.MinuteCount]] = {}
    accepted: list[tuple[Push, Batches]] = []
    outcomes: list[int | Exception] = []
    for push in pushes:
        try:
            if isinstance(push, OnePush):
                target = by_id.get(push.slo_id)
                if target is None:
                    raise NotFound(f"no SLO {push.slo_id!r}", field="slo")
                batches = {target.id: _validated(target, push.raw, bounds)}
            else:
                batches = _bulk_batches(push, by_ref, bounds)
        except OpsloopError as exc:
            outcomes.append(exc)
            continue
        for slo_id, counts in batches.items():
            minutes = merged.setdefault(slo_id, {})
            for count in counts:
                minutes[count.minute] = count
        accepted.append((push, batches))
        outcomes.append(sum(len(counts) for counts in batches.values()))
    if merged:
        events.ingest(
            session,
            {slo_id: sorted(m.values(), key=_minute) for slo_id, m in merged.items()},
            locked=True,
        )
        _record(session, now, accepted)
    return outcomes


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


_SLOS = SLO.__table__
_LOOKUPS: dict[tuple[bool, bool, bool], Any] = {}


def _lookup_statement(ids: bool, pairs: bool, names: bool) -> Any:
    """The lookup for SLOs named by ids, pairs and/or names, built once per combination: a
    statement built anew costs more than running it (its cache key, and its result columns
    matched again to the cached compilation's)."""
    key = (ids, pairs, names)
    found = _LOOKUPS.get(key)
    if found is None:
        c = _SLOS.c
        conditions = []
        if ids:
            conditions.append(c.id.in_(bindparam("ids", expanding=True)))
        if pairs:
            conditions.append(tuple_(c.service, c.name).in_(bindparam("pairs", expanding=True)))
        if names:
            conditions.append(c.name.in_(bindparam("names", expanding=True)))
        columns = (c.id, c.service, c.name, c.source, c.spec)
        # The rows are locked as they are read, as events.ingest would lock them (lock order of
        # opsloop.core.db: one statement, ascending id): one round trip fewer per group, and
        # what is validated cannot change before the group commits. SQLite has no row locks
        # (its write transaction holds the whole database); there this is a plain SELECT.
        found = _LOOKUPS[key] = (
            select(*columns).where(or_(*conditions)).order_by(c.id).with_for_update(key_share=True)
        )
    return found


def _lookup(
    session: Session, ids: set[int], refs: set[str]
) -> tuple[dict[int, Target], dict[str, Target | OpsloopError | None]]:
    """Every SLO the group names, in one query: ids, ``service/name`` pairs and bare names,
    their rows locked (see :func:`_lookup_statement`)."""
    ref_ids = {int(r) for r in refs if r.isascii() and r.isdigit() and 0 < int(r) <= MAX_ID}
    pairs = {tuple(r.split("/", 1)) for r in refs if "/" in r}
    names = {r for r in refs if "/" not in r and not (r.isascii() and r.isdigit())}
    wanted = ids | ref_ids
    if not (wanted or pairs or names):
        return {}, dict.fromkeys(refs)
    statement = _lookup_statement(bool(wanted), bool(pairs), bool(names))
    given = {"ids": list(wanted), "pairs": list(pairs), "names": list(names)}
    params = {name: values for name, values in given.items() if values}
    # On the connection: a plain Core query needs none of the ORM's result handling.
    rows = [Target(*row) for row in session.connection().execute(statement, params)]
    by_id = {t.id: t for t in rows}
    by_pair = {(t.service, t.name): t for t in rows}
    by_ref: dict[str, Target | OpsloopError | None] = {}
    for ref in refs:
        if ref.isascii() and ref.isdigit():
            by_ref[ref] = by_id.get(int(ref))
        elif "/" in ref:
            service, _, name = ref.partition("/")
            by_ref[ref] = by_pair.get((service, name))
        else:
            named = [t for t in rows if t.name == ref]
            by_ref[ref] = (
                ValidationFailed(
                    f"several SLOs are named {ref!r}; use service/name", field="events"
                )
                if len(named) > 1
                else (named[0] if named else None)
            )
    return by_id, by_ref


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


def _record(session: Session, received_at: datetime, accepted: list[tuple[Push, Batches]]) -> None:
    rows = [
        (
            slo_id,
            received_at,
            push.principal.actor,
            push.request_id,
            len(counts),
            counts[0].minute,
            counts[-1].minute,
        )
        for push, batches in accepted
        for slo_id, counts in batches.items()
    ]
    event_writes.PUSHES.run(session, rows)
