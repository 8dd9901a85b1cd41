"""SLO use-cases: apply specs, export them, reset budgets (budget policies:
:mod:`opsloop.slo.budget_policies`).

Every write is audited. Pushed events (the data plane) are :mod:`opsloop.slo.ingestion`;
evaluation (reading SLIs and deciding states) lives in :mod:`opsloop.slo.evaluation`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.db import MAX_ID
from opsloop.core.errors import Conflict, NotFound, ValidationFailed
from opsloop.core.id_lists import among
from opsloop.notifications.events import register_event_types
from opsloop.services import service as catalog
from opsloop.slo.announcements import EVENT_TYPES
from opsloop.slo.models import SLO, AlertEvent, BudgetPeriod, Evaluation
from opsloop.slo.sources import Source
from opsloop.slo.spec import (
    CalendarWindow,
    PushedEvents,
    RollingWindow,
    SLODefinition,
    indicator_queries,
    parse_documents,
    stored_documents,
    to_openslo,
    to_sloth,
)
from opsloop.slo.spec.checks import SpecError
from opsloop.slo.spec.model import CalendarUnit, SLIKind
from opsloop.slo.windows import format_duration, parse_duration

# The events this domain announces (opsloop.slo.announcing), known wherever SLOs are.
register_event_types(EVENT_TYPES)
Outcome = Literal["created", "updated", "unchanged"]
_CALENDAR_UNITS: dict[str, CalendarUnit] = {"week": "week", "month": "month", "quarter": "quarter"}
#: ``period_started_at`` of an SLO never reset: the budget window alone bounds what counts,
#: so history pushed right after creation (backfill) counts too.
NEVER_RESET = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Applied:
    slo_id: int
    service: str
    name: str
    outcome: Outcome


@lru_cache(maxsize=4096)
def parse_stored(spec: str, documents: str | None = None) -> SLODefinition:
    """A stored spec's definition; ``documents``: its JSON copy (``SLO.spec_documents``), read
    instead of the YAML when it is the copy of this very text."""
    loaded = stored_documents.load(spec, documents)
    return parse_documents(spec, "stored SLO", own=True, documents=loaded)[0]


def definition(slo: SLO) -> SLODefinition:
    """The stored definition (parsed once per distinct spec text)."""
    return parse_stored(slo.spec, slo.spec_documents)


def summary(defn: SLODefinition) -> dict[str, Any]:
    """What the audit trail records of a definition: every field a reviewer cares about."""
    window = defn.window
    return {
        "objective": defn.objective,
        "window": f"calendar {window.unit} {window.time_zone}"
        if isinstance(window, CalendarWindow)
        else format_duration(window.duration),
        "description": defn.description,
        "owner": defn.owner,
        "labels": dict(defn.labels),
        "sli_kind": defn.kind,
        "source": source_of(defn),
        "queries": indicator_queries(defn.indicator),
        "alerting": defn.alerting.enabled,
    }


def is_rolling(defn: SLODefinition) -> bool:
    """Rolling SLOs can have their budget reset; calendar ones start afresh each period."""
    return not isinstance(defn.window, CalendarWindow)


def source_of(defn: SLODefinition) -> Source:
    return Source.push if isinstance(defn.indicator, PushedEvents) else Source.prometheus


def parse_specs(text: str, source: str) -> list[SLODefinition]:
    try:
        return parse_documents(text, source)
    except SpecError as exc:
        first = exc.problems[0]
        lines = [f"{p.path}: {p.reason}" if p.path else p.reason for p in exc.problems]
        raise ValidationFailed(
            f"{source}: " + "; ".join(lines) + " (nothing was applied)", field=first.path or None
        ) from None


def apply_specs(
    session: Session, *, principal: Principal, text: str, source: str = "spec"
) -> list[Applied]:
    """Create or update every SLO of a spec file, all or nothing; idempotent."""
    require(principal, Role.approver)
    return [
        apply_definition(session, principal=principal, defn=d) for d in parse_specs(text, source)
    ]


def apply_definition(session: Session, *, principal: Principal, defn: SLODefinition) -> Applied:
    spec = to_openslo([defn])
    try:
        copy = stored_documents.documents_json(spec)
        stored = parse_stored(spec, copy)  # as the first evaluation after a start will read it
    except SpecError as exc:
        raise ValidationFailed(
            f"objective {defn.objective!r} cannot be stored exactly; use at most a few decimals",
            field="objective",
        ) from exc
    if stored != defn:
        raise ValidationFailed(
            f"SLO {defn.service}/{defn.name} would not read back as given; simplify its values",
            field="objective" if stored.objective != defn.objective else None,
        )
    now = clock.now()
    slo = session.scalar(select(SLO).where(SLO.service == defn.service, SLO.name == defn.name))
    if slo is None:
        # The first SLO of a service puts the service in the catalog, in this transaction.
        catalog.ensure_services(session, [defn.service], source="slo", principal=principal)
        slo = SLO(
            service=defn.service,
            name=defn.name,
            source=source_of(defn),
            spec=spec,
            spec_documents=copy,
            objective=defn.objective,
            owner=defn.owner,
            period_started_at=NEVER_RESET,
            policy_state="no_data",
            policy_state_since=now,
            created_at=now,
            updated_at=now,
        )
        session.add(slo)
        session.flush()
        session.add(
            BudgetPeriod(
                slo_id=slo.id, started_at=now, reason="SLO created", started_by=principal.actor
            )
        )
        audit.record(
            session,
            principal=principal,
            action="slo.create",
            entity_type="slo",
            entity_id=slo.id,
            after=summary(defn),
        )
        return Applied(slo.id, slo.service, slo.name, "created")
    if slo.spec == spec:
        return Applied(slo.id, slo.service, slo.name, "unchanged")
    before = summary(definition(slo))
    slo.source = source_of(defn)
    slo.spec, slo.objective, slo.owner, slo.updated_at = spec, defn.objective, defn.owner, now
    slo.spec_documents = copy
    audit.record(
        session,
        principal=principal,
        action="slo.update",
        entity_type="slo",
        entity_id=slo.id,
        before=before,
        after=summary(defn),
    )
    return Applied(slo.id, slo.service, slo.name, "updated")


def _is_number(text: str) -> bool:
    # str.isdigit() is also true for "¹" or "٣", which int() then refuses.
    return text.isascii() and text.isdigit()


def get_slo(session: Session, *, ref: str | int) -> SLO:
    """Find an SLO by id or by ``service/name`` (or a bare name when it is unique)."""
    if isinstance(ref, int) or _is_number(str(ref)):
        found = session.get(SLO, int(ref)) if 0 < int(ref) <= MAX_ID else None
    elif "/" in str(ref):
        service, _, name = str(ref).partition("/")
        found = session.scalar(select(SLO).where(SLO.service == service, SLO.name == name))
    else:
        matches = list(session.scalars(select(SLO).where(SLO.name == ref)))
        if len(matches) > 1:
            raise Conflict(f"several SLOs are named {ref!r}; use service/name", field="slo")
        found = matches[0] if matches else None
    if found is None:
        raise NotFound(f"no SLO {ref!r}", field="slo")
    return found


def latest_results(session: Session, *, slo_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The scheduler's last evaluation of each SLO (missing when it has not run yet)."""
    query = select(Evaluation.slo_id, Evaluation.result).where(among(Evaluation.slo_id, slo_ids))
    return {slo_id: json.loads(raw) for slo_id, raw in session.execute(query)}


def list_slos(session: Session, *, service: str | None = None) -> list[SLO]:
    query = select(SLO).order_by(SLO.service, SLO.name)
    if service:
        query = query.where(SLO.service == service)
    return list(session.scalars(query))


def export_specs(session: Session, *, fmt: str, service: str | None = None) -> str:
    defs = [definition(s) for s in list_slos(session, service=service)]
    if fmt == "openslo":
        return to_openslo(defs)
    if fmt == "sloth":
        try:
            return to_sloth(defs)
        except SpecError as exc:
            first = exc.problems[0]
            raise ValidationFailed(
                f"cannot express as Sloth: {first.path}: {first.reason}", field="format"
            ) from None
    raise ValidationFailed(f"unknown format {fmt!r}; use openslo or sloth", field="format")


def delete_slo(session: Session, *, principal: Principal, ref: str | int) -> None:
    require(principal, Role.admin)
    slo = get_slo(session, ref=ref)
    before = summary(definition(slo))
    audit.record(
        session,
        principal=principal,
        action="slo.delete",
        entity_type="slo",
        entity_id=slo.id,
        before=before,
    )
    session.delete(slo)


def reset_budget(
    session: Session, *, principal: Principal, ref: str | int, reason: str
) -> BudgetPeriod:
    """Start a new budget period for a rolling SLO; the old period stays in the history."""
    require(principal, Role.admin)
    if not reason.strip():
        raise ValidationFailed("a reset needs a reason", field="reason")
    slo = get_slo(session, ref=ref)
    if isinstance(definition(slo).window, CalendarWindow):
        raise ValidationFailed(
            "calendar SLOs start a fresh budget at each period start; reset is for rolling SLOs",
            field="slo",
        )
    now = clock.now()
    current = session.scalar(
        select(BudgetPeriod).where(BudgetPeriod.slo_id == slo.id, BudgetPeriod.ended_at.is_(None))
    )
    if current is not None:
        current.ended_at = now
    period = BudgetPeriod(
        slo_id=slo.id, started_at=now, reason=reason.strip(), started_by=principal.actor
    )
    session.add(period)
    before = {"period_started_at": slo.period_started_at}
    slo.period_started_at = now
    audit.record(
        session,
        principal=principal,
        action="slo.reset",
        entity_type="slo",
        entity_id=slo.id,
        before=before,
        after={"period_started_at": now, "reason": reason.strip()},
    )
    return period


def periods(
    session: Session, *, slo_id: int, after_id: int | None = None, limit: int | None = None
) -> list[BudgetPeriod]:
    """Oldest first (ids grow with time); ``limit`` after ``after_id`` for a page."""
    query = select(BudgetPeriod).where(BudgetPeriod.slo_id == slo_id)
    if after_id is not None:
        query = query.where(BudgetPeriod.id > after_id)
    return list(session.scalars(query.order_by(BudgetPeriod.id).limit(limit)))


def alert_history(
    session: Session, *, slo_id: int, limit: int = 100, before_id: int | None = None
) -> list[AlertEvent]:
    """The SLO's alert transitions, newest first (ids grow with time), before ``before_id``."""
    query = select(AlertEvent).where(AlertEvent.slo_id == slo_id)
    if before_id is not None:
        query = query.where(AlertEvent.id < before_id)
    return list(session.scalars(query.order_by(AlertEvent.id.desc()).limit(limit)))


def pushed_definition(
    *,
    service: str,
    name: str,
    objective: float,
    window: str = "30d",
    time_zone: str = "UTC",
    sli_kind: SLIKind = "availability",
    description: str = "",
    owner: str = "",
    labels: Mapping[str, str] | None = None,
) -> SLODefinition:
    """Build a pushed SLO from plain fields, reporting problems like a spec would."""
    try:
        time_window: CalendarWindow | RollingWindow
        unit = _CALENDAR_UNITS.get(window)
        if unit is not None:
            time_window = CalendarWindow(unit=unit, time_zone=time_zone)
        else:
            time_window = RollingWindow(parse_duration(window))
        return SLODefinition(
            service=service,
            name=name,
            objective=objective,
            indicator=PushedEvents(),
            window=time_window,
            description=description,
            owner=owner,
            labels=dict(labels or {}),
            sli_kind=sli_kind,
        )
    except SpecError as exc:
        first = exc.problems[0]
        raise ValidationFailed(f"{first.path}: {first.reason}", field=first.path) from None
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="window") from None
