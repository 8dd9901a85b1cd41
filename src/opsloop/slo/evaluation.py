"""Evaluating every SLO: read SLIs (pushed counts or Prometheus), compute statuses, and record
what changed — alert firing/resolved and error-budget policy states — with an audit record.

The scheduler calls :func:`evaluate` every minute; the CLI and API call it for fresh numbers.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.clock import MINUTE
from opsloop.core.db import Database, lock_rows
from opsloop.core.id_lists import among
from opsloop.core.schemas import tidy
from opsloop.slo import announcing, budget_policies, event_sums
from opsloop.slo import previous as carried_forward
from opsloop.slo import service as slo_service
from opsloop.slo.math import NoData, error_ratio
from opsloop.slo.models import SLO, AlertEvent, Evaluation
from opsloop.slo.periods import PeriodWindow
from opsloop.slo.prometheus import PrometheusClient
from opsloop.slo.recorded import SLIRequest, read_error_ratios
from opsloop.slo.results import store_results
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
        query = select(
            SLO.id,
            SLO.service,
            SLO.name,
            SLO.source,
            SLO.spec,
            SLO.spec_documents,
            SLO.period_started_at,
        )
        if slo_ids is not None:
            query = query.where(among(SLO.id, slo_ids))
        targets = []
        for row in session.execute(query):
            defn = slo_service.parse_stored(row.spec, row.spec_documents)
            period = budget_window(defn, now, row.period_started_at)
            epoch = budget_epoch(defn, period, row.period_started_at)
            targets.append(Target(row.id, row.service, row.name, row.source, defn, period, epoch))
        policies = budget_policies.policies_for(session, services={t.service for t in targets})
        stored = _stored_results(session, [t.slo_id for t in targets])
    ratios = _pushed_ratios(db, [t for t in targets if t.source == "push"], now)
    previous = {slo_id: carried_forward.parsed(slo_id, text) for slo_id, text in stored.items()}
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


def _stored_results(session: Session, slo_ids: list[int]) -> dict[int, str]:
    """The stored result text of each SLO. By key even for all of them: the table is rewritten
    every minute, and a scan of it would also read every row version not vacuumed yet."""
    query = select(Evaluation.slo_id, Evaluation.result)
    return {
        slo_id: text
        for slo_id, text in session.execute(query.where(among(Evaluation.slo_id, slo_ids)))
    }


def result_text(result: dict[str, Any]) -> str:
    """A status (``SLOStatus.to_json()``) as stored: exactly the JSON the API answers with (tidy
    numbers, compact), so that reads send it on without parsing it."""
    # orjson writes the same compact JSON in a quarter of the time (9 instead of 38 ms for the
    # results of 1,000 SLOs); the json module is kept for what it cannot write, integers beyond
    # 64 bits.
    tidied = tidy(result)
    try:
        return orjson.dumps(tidied).decode()
    except orjson.JSONEncodeError:
        return json.dumps(tidied, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def is_stored_tidy(text: str) -> bool:
    """Whether a stored result was written by :func:`result_text` (compact, so its first key
    is followed by no space); results stored before were not tidied."""
    return text.startswith('{"evaluated_at":"')


Ratios = tuple[dict[timedelta, float | NoData], float | NoData, tuple[int, int] | None]


#: From this many pushed SLOs on, the window sums are read as two halves at once, each in a
#: statement of its own on a connection of its own; the database works on both together, on
#: two cores where it has them. Each SLO's sums still come from one statement. For 1,000 SLOs
#: the sums took 112-153 ms instead of 198-347 ms on PostgreSQL and 80-94 ms instead of
#: 105-147 ms on SQLite (benchmarks/perf/README.md).
SPLIT_SUMS_FROM = 200
_SECOND_HALF = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsloop-window-sums")


def _window_sums(
    db: Database, ids: list[int], now: datetime, starts: list[datetime]
) -> dict[int, list[tuple[int, int]]]:
    with db.read() as session:
        return event_sums.window_sums(session, ids, now, starts)


def _sums_of(
    db: Database, ids: list[int], now: datetime, starts: list[datetime]
) -> dict[int, list[tuple[int, int]]]:
    if len(ids) < SPLIT_SUMS_FROM:
        return _window_sums(db, ids, now, starts)
    ids = sorted(ids)
    half = len(ids) // 2
    later = _SECOND_HALF.submit(_window_sums, db, ids[half:], now, starts)
    found = _window_sums(db, ids[:half], now, starts)
    found.update(later.result())
    return found


def _pushed_ratios(db: Database, targets: list[Target], now: datetime) -> dict[int, Ratios]:
    # SLOs that share a budget-window start (most do) are summed together.
    groups: dict[datetime, list[int]] = defaultdict(list)
    for target in targets:
        groups[target.period.start].append(target.slo_id)
    starts = [now - w for w in WINDOWS]
    out: dict[int, Ratios] = {}
    for period_start, ids in groups.items():
        sums = _sums_of(db, ids, now, [*starts, period_start])
        for slo_id in ids:
            counts = sums.get(slo_id)
            if counts is None:
                continue
            *windows, period = counts
            out[slo_id] = (
                {w: error_ratio(*pair) for w, pair in zip(WINDOWS, windows, strict=True)},
                error_ratio(*period),
                period,
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
    Each kind of write is one statement for all SLOs: the first evaluation after a start
    records a policy state and alerts for every SLO at once.
    """
    previous = {
        slo_id: carried_forward.parsed(slo_id, text)
        for slo_id, text in _stored_results(session, list(statuses)).items()
    }
    texts: dict[int, str] = {}
    alerts: list[dict[str, Any]] = []
    entries: list[audit.Entry] = []
    since: dict[tuple[int, str], str] = {}
    for slo_id, status in statuses.items():
        result = status.to_json()
        texts[slo_id] = result_text(result)
        carried_forward.remember(slo_id, texts[slo_id], result)
        changed = _alert_changes(targets[slo_id], previous.get(slo_id), result)
        if changed:
            alerts.extend(changed)
            since.update({(slo_id, a["alert"]): a["active_since"] for a in result["alerts"]})
    entries.extend(_alert_entry(alert) for alert in alerts)
    policy_changes = _policy_changes(session, now, statuses)
    entries.extend(policy_changes)
    if alerts:
        session.execute(insert(AlertEvent), [{**a, "at": now} for a in alerts])
    audit.record_many(session, principal=SYSTEM, entries=entries)
    store_results(session, now, texts)
    # People hear of the changes through the outbox, and pages may declare incidents, all
    # committed with them.
    announcing.announce(
        session, targets=targets, statuses=statuses, alerts=alerts, policy_changes=policy_changes
    )
    announcing.declare_incidents(session, targets=targets, alerts=alerts, since=since)


_ALERT_DETAILS = ("alert", "severity", "factor", "long_burn", "short_burn")


def _alert_changes(
    target: Target, before: dict[str, Any] | None, after: dict[str, Any]
) -> list[dict[str, Any]]:
    """The alerts whose firing state differs from the last evaluation, as alert-event rows."""
    was = {a["alert"]: a["firing"] for a in (before or {}).get("alerts", [])}
    return [
        {"slo_id": target.slo_id, "firing": alert["firing"]} | {k: alert[k] for k in _ALERT_DETAILS}
        for alert in after["alerts"]
        if alert["firing"] != was.get(alert["alert"], False)
    ]


def _alert_entry(alert: dict[str, Any]) -> audit.Entry:
    return audit.Entry(
        action="slo.alert.firing" if alert["firing"] else "slo.alert.resolved",
        entity_type="slo",
        entity_id=alert["slo_id"],
        after={k: alert[k] for k in _ALERT_DETAILS},
    )


def _policy_changes(
    session: Session, now: datetime, statuses: dict[int, SLOStatus]
) -> list[audit.Entry]:
    """Move SLOs whose policy state changed to the new state (one UPDATE per state) and
    return their audit entries, in ascending SLO id."""
    current = session.execute(
        select(SLO.id, SLO.policy_state).where(among(SLO.id, statuses)).order_by(SLO.id)
    ).all()
    changed = {i: s for i, s in current if statuses[i].policy.state != s}
    if not changed:
        return []
    lock_rows(session, SLO.id, changed)
    by_state: dict[str, list[int]] = defaultdict(list)
    for slo_id in changed:
        by_state[statuses[slo_id].policy.state].append(slo_id)
    for state, ids in by_state.items():
        session.execute(
            update(SLO)
            .where(among(SLO.id, ids))
            .values(policy_state=state, policy_state_since=now)
            .execution_options(synchronize_session=False)
        )
    return [
        audit.Entry(
            action="slo.policy_state",
            entity_type="slo",
            entity_id=slo_id,
            before={"policy_state": state},
            after={"policy_state": statuses[slo_id].policy.state},
        )
        for slo_id, state in changed.items()
    ]
