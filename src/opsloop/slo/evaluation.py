"""Evaluating every SLO: read SLIs (pushed counts or Prometheus), compute statuses, and record
what changed — alert firing/resolved and error-budget policy states — with an audit record.

The scheduler calls :func:`evaluate` every minute; the CLI and API call it for fresh numbers.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.clock import MINUTE
from opsloop.core.db import Database, lock_rows, upsert_for
from opsloop.slo import events
from opsloop.slo import service as slo_service
from opsloop.slo.math import NoData
from opsloop.slo.models import SLO, AlertEvent, Evaluation
from opsloop.slo.periods import PeriodWindow
from opsloop.slo.prometheus import PrometheusClient
from opsloop.slo.recorded import SLIRequest, read_error_ratios
from opsloop.slo.spec import SLODefinition
from opsloop.slo.status import SLOStatus, budget_epoch, budget_window, compute_status
from opsloop.slo.windows import ALERT_WINDOWS as WINDOWS


@dataclass(frozen=True)
class Target:
    slo_id: int
    service: str
    name: str
    source: str
    defn: SLODefinition
    period: PeriodWindow
    epoch: datetime


def evaluate(
    db: Database,
    *,
    now: datetime,
    prometheus: PrometheusClient | None = None,
    slo_ids: Iterable[int] | None = None,
    persist: bool = True,
) -> dict[int, SLOStatus]:
    """Evaluate SLOs (all, or those given) at ``now``; optionally record the outcome."""
    with db.read() as session:
        query = select(SLO.id, SLO.service, SLO.name, SLO.source, SLO.spec, SLO.period_started_at)
        if slo_ids is not None:
            query = query.where(SLO.id.in_(list(slo_ids)))
        targets = []
        for row in session.execute(query):
            defn = slo_service.parse_stored(row.spec)
            period = budget_window(defn, now, row.period_started_at)
            epoch = budget_epoch(defn, period, row.period_started_at)
            targets.append(Target(row.id, row.service, row.name, row.source, defn, period, epoch))
        policies = {
            s: slo_service.policy_for(session, service=s) for s in {t.service for t in targets}
        }
        previous = slo_service.latest_results(session, slo_ids=[t.slo_id for t in targets])
        ratios = _pushed_ratios(session, [t for t in targets if t.source == "push"], now)
    queried, sources = _prometheus_ratios(
        prometheus, [t for t in targets if t.source != "push"], now
    )
    ratios.update(queried)
    statuses = {}
    for target in targets:
        windows, period_ratio, counts = ratios[target.slo_id]
        statuses[target.slo_id] = compute_status(
            target.defn,
            now=now,
            period=target.period,
            error_ratios=windows,
            period_error_ratio=period_ratio,
            policy=policies[target.service],
            counts=counts,
            previous=previous.get(target.slo_id),
            budget_epoch=target.epoch,
        )
    for slo_id, source in sources.items():  # "recorded", "raw" or "mixed": which path read it
        status = statuses[slo_id]
        statuses[slo_id] = replace(status, extra={**status.extra, "sli_source": source})
    if persist and statuses:
        with db.write() as session:
            record(session, now=now, targets={t.slo_id: t for t in targets}, statuses=statuses)
    return statuses


Ratios = tuple[dict[timedelta, float | NoData], float | NoData, tuple[int, int] | None]


def _pushed_ratios(session: Session, targets: list[Target], now: datetime) -> dict[int, Ratios]:
    # SLOs that share a budget-window start (most do) are summed in one statement.
    groups: dict[datetime, list[int]] = defaultdict(list)
    for target in targets:
        groups[target.period.start].append(target.slo_id)
    starts = [now - w for w in WINDOWS]
    out: dict[int, Ratios] = {}
    for period_start, ids in groups.items():
        sums = events.window_counts(session, ids, now, [*starts, period_start])
        for slo_id in ids:
            counts = sums.get(slo_id)
            if counts is None:
                continue
            *window_counts, period = counts
            out[slo_id] = (
                {w: c.error_ratio for w, c in zip(WINDOWS, window_counts, strict=True)},
                period.error_ratio,
                (int(period.good), int(period.total)),
            )
    return out


def _prometheus_ratios(
    client: PrometheusClient | None, targets: list[Target], now: datetime
) -> tuple[dict[int, Ratios], dict[int, str]]:
    """All Prometheus-sourced SLOs at once (recorded series where current, raw queries else),
    and which of the two each SLO was read from."""
    if client is None or not targets:
        missing = NoData("no Prometheus configured (set OPSLOOP_PROMETHEUS_URL)")
        return {t.slo_id: (dict.fromkeys(WINDOWS, missing), missing, None) for t in targets}, {}
    requests = [
        SLIRequest(
            t.slo_id, t.defn, WINDOWS, max(MINUTE, (now - t.period.start) // MINUTE * MINUTE)
        )
        for t in targets
    ]
    readings = read_error_ratios(client, requests, now)
    found: dict[int, Ratios] = {key: (r.windows, r.period, None) for key, r in readings.items()}
    return found, {key: r.source for key, r in readings.items()}


def record(
    session: Session, *, now: datetime, targets: dict[int, Target], statuses: dict[int, SLOStatus]
) -> None:
    """Store the evaluations; alert and policy-state changes get an event and an audit record.

    The write transaction holds the audit lock from its start, so ``previous`` is what the last
    evaluation committed even with several evaluators (the lock order of opsloop.core.db).
    """
    previous = {
        e.slo_id: json.loads(e.result)
        for e in session.scalars(select(Evaluation).where(Evaluation.slo_id.in_(list(statuses))))
    }
    rows: list[dict[str, Any]] = []
    for slo_id, status in statuses.items():
        result = status.to_json()
        rows.append({"slo_id": slo_id, "evaluated_at": now, "result": json.dumps(result)})
        _alert_changes(session, now, targets[slo_id], previous.get(slo_id), result)
    _policy_changes(session, now, statuses)
    statement = upsert_for(session)(Evaluation)
    statement = statement.on_conflict_do_update(
        index_elements=["slo_id"],
        set_={"evaluated_at": statement.excluded.evaluated_at, "result": statement.excluded.result},
    )
    session.execute(statement, rows)


def _alert_changes(
    session: Session,
    now: datetime,
    target: Target,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    was = {a["alert"]: a["firing"] for a in (before or {}).get("alerts", [])}
    for alert in after["alerts"]:
        if alert["firing"] == was.get(alert["alert"], False):
            continue
        session.add(
            AlertEvent(
                slo_id=target.slo_id,
                alert=alert["alert"],
                severity=alert["severity"],
                firing=alert["firing"],
                at=now,
                factor=alert["factor"],
                long_burn=alert["long_burn"],
                short_burn=alert["short_burn"],
            )
        )
        action = "slo.alert.firing" if alert["firing"] else "slo.alert.resolved"
        details = {k: alert[k] for k in ("alert", "severity", "factor", "long_burn", "short_burn")}
        audit.record(
            session,
            principal=SYSTEM,
            action=action,
            entity_type="slo",
            entity_id=target.slo_id,
            after=details,
        )


def _policy_changes(session: Session, now: datetime, statuses: dict[int, SLOStatus]) -> None:
    current = session.execute(
        select(SLO.id, SLO.policy_state).where(SLO.id.in_(list(statuses)))
    ).all()
    changed = {i: s for i, s in current if statuses[i].policy.state != s}
    if not changed:
        return
    lock_rows(session, SLO.id, changed)
    for slo in session.scalars(select(SLO).where(SLO.id.in_(list(changed))).order_by(SLO.id)):
        slo_id, state, decided = slo.id, changed[slo.id], statuses[slo.id].policy.state
        slo.policy_state, slo.policy_state_since = decided, now
        audit.record(
            session,
            principal=SYSTEM,
            action="slo.policy_state",
            entity_type="slo",
            entity_id=slo_id,
            before={"policy_state": state},
            after={"policy_state": decided},
        )
