"""Pushed events, the data plane: validate batches, store them, record who pushed what.

Pushes are not audited: each accepted batch is recorded in ``slo_event_pushes`` (SLO, time,
actor, request id, minutes covered) so ingestion never takes the audit lock and pushes to
different SLOs never wait for each other. Routes run them in ``Database.write(audited=False)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.errors import ValidationFailed
from opsloop.core.requestctx import current_request_id
from opsloop.core.schemas import MAX_ID
from opsloop.slo import events
from opsloop.slo.models import SLO, EventPush
from opsloop.slo.service import definition
from opsloop.slo.status import oldest_counted

Raw = tuple[datetime, int, int]


def push_events(session: Session, *, principal: Principal, slo: SLO, raw: Sequence[Raw]) -> int:
    """Store a batch of minute counts for a pushed SLO: all of it, or none of it."""
    require(principal, Role.responder)
    counts = _validated(slo, raw, indexes=list(range(len(raw))))
    _store(session, principal, {slo.id: counts})
    return len(counts)


def push_bulk(session: Session, *, principal: Principal, items: Sequence[tuple[str, Raw]]) -> int:
    """Counts for several SLOs, each named by id or ``service/name`` (or a unique bare name);
    any bad item rejects the whole batch, naming its index."""
    require(principal, Role.responder)
    found = _resolve(session, {ref for ref, _ in items})
    grouped: dict[int, list[int]] = {}
    for index, (ref, _) in enumerate(items):
        slo = found.get(ref)
        if slo is None:
            where = f"events[{index}].slo"
            raise ValidationFailed(f"{where}: no SLO {ref!r}", field=where)
        grouped.setdefault(slo.id, []).append(index)
    slos_by_id = {slo.id: slo for slo in found.values() if slo is not None}
    batches = {
        slo_id: _validated(slos_by_id[slo_id], [items[i][1] for i in indexes], indexes=indexes)
        for slo_id, indexes in grouped.items()
    }
    _store(session, principal, batches)
    return sum(len(counts) for counts in batches.values())


def _resolve(session: Session, refs: set[str]) -> dict[str, SLO | None]:
    """Every reference in one query: ids, ``service/name`` pairs and bare names."""
    ids = {int(r) for r in refs if r.isascii() and r.isdigit() and 0 < int(r) <= MAX_ID}
    pairs = {tuple(r.split("/", 1)) for r in refs if "/" in r}
    names = {r for r in refs if "/" not in r and not (r.isascii() and r.isdigit())}
    conditions = []
    if ids:
        conditions.append(SLO.id.in_(ids))
    if pairs:
        conditions.append(tuple_(SLO.service, SLO.name).in_(pairs))
    if names:
        conditions.append(SLO.name.in_(names))
    rows = list(session.scalars(select(SLO).where(or_(*conditions)))) if conditions else []
    by_id = {s.id: s for s in rows}
    by_pair = {(s.service, s.name): s for s in rows}
    out: dict[str, SLO | None] = {}
    for ref in refs:
        if ref.isascii() and ref.isdigit():
            out[ref] = by_id.get(int(ref))
        elif "/" in ref:
            service, _, name = ref.partition("/")
            out[ref] = by_pair.get((service, name))
        else:
            named = [s for s in rows if s.name == ref]
            if len(named) > 1:
                raise ValidationFailed(
                    f"several SLOs are named {ref!r}; use service/name", field="events"
                )
            out[ref] = named[0] if named else None
    return out


def _validated(slo: SLO, raw: Sequence[Raw], *, indexes: list[int]) -> list[events.MinuteCount]:
    if slo.source != "push":
        raise ValidationFailed(
            f"SLO {slo.service}/{slo.name} reads its SLI from Prometheus; "
            "it takes no pushed events",
            field="slo" if indexes == list(range(len(raw))) else f"events[{indexes[0]}].slo",
        )
    now = clock.now()
    oldest = events.floor_minute(oldest_counted(definition(slo), now))
    return events.validate_batch(raw, now=now, oldest=oldest, positions=indexes)


def _store(
    session: Session, principal: Principal, batches: dict[int, list[events.MinuteCount]]
) -> None:
    events.ingest(session, batches)
    received_at, request_id = clock.now(), current_request_id()
    session.add_all(
        EventPush(
            slo_id=slo_id,
            received_at=received_at,
            actor=principal.actor,
            request_id=request_id,
            minutes=len(counts),
            first_minute=counts[0].minute,
            last_minute=counts[-1].minute,
        )
        for slo_id, counts in batches.items()
    )
