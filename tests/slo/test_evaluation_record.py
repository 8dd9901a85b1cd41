"""One evaluation of several SLOs records every change in bulk: policy states, alert events and
their audit records, with the chain intact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.audit import verification
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.slo import evaluation, ingestion
from opsloop.slo import service as slo_service
from opsloop.slo.models import SLO, AlertEvent

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _slo(db: Database, name: str, good: int, minutes: int = 60) -> int:
    defn = slo_service.pushed_definition(service="checkout", name=name, objective=99.0, window="7d")
    with db.write() as session:
        slo_id = slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id
        slo = slo_service.get_slo(session, ref=slo_id)
        raw = [(NOW - timedelta(minutes=minutes - i), good, 1000) for i in range(minutes)]
        if raw:
            ingestion.push_events(session, principal=SYSTEM, slo=slo, raw=raw)
    return slo_id


def test_one_evaluation_records_every_change_and_keeps_the_chain(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.current = NOW
    healthy = _slo(db, "healthy", 1000)
    burning = _slo(db, "burning", 700)  # 30x the budget: every window pages after 2 minutes
    silent = _slo(db, "silent", 0, minutes=0)
    with db.read() as session:
        before = audit.count(session)
    for minute in range(3):
        evaluation.evaluate(db, now=NOW + timedelta(minutes=minute))
    with db.read() as session:
        records = list(audit.iterate(session, flt=audit.AuditFilter()))[before:]
        states = {i: s for i, s in session.execute(select(SLO.id, SLO.policy_state))}
        since = {i: s for i, s in session.execute(select(SLO.id, SLO.policy_state_since))}
        events = session.scalars(select(AlertEvent)).all()
        assert verification.verify_chain(session, full=True).ok
    assert states[silent] == "no_data" and states[healthy] != "no_data"
    assert states[burning] not in ("no_data", states[healthy])
    assert since[healthy] == since[burning] == NOW  # changed by the first evaluation only
    firing = sorted(e.alert for e in events if e.slo_id == burning and e.firing)
    assert firing and all(e.slo_id == burning for e in events)
    policy = [r for r in records if r.action == "slo.policy_state"]
    assert [r.entity_id for r in policy] == [str(healthy), str(burning)]
    alerts = [r for r in records if r.action == "slo.alert.firing"]
    assert len(alerts) == len(firing) and {r.entity_id for r in alerts} == {str(burning)}
