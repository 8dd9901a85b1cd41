"""The router: alert instances to incidents, after the webhook has been answered.

The receiver only stores alerts. This step, run by a scheduler job every few seconds, takes
the instances not yet routed (``routed_at`` unset) in batches, oldest start first, tries the
routing rules on each and links it to an incident. It works in two kinds of transaction:

* a data-plane transaction (no audit lock) per batch. It claims its rows with ``FOR UPDATE
  SKIP LOCKED`` on PostgreSQL, so that routers of several replicas take different batches and
  never wait for each other, and links every alert whose incident exists: the cause's open
  incident, or for ``attach`` rules the service's newest open incident. An alert storm is
  this path: thousands of alerts join one incident without touching the audit trail;
* an audited transaction for the causes that need an incident declared. Audited writes are
  serialised (the audit lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), and the cause is
  read again under it: a router that finds the cause already declared by another declares
  nothing. The declared incident's origin is ``route:<rule>:<service>:<episode>``, unique, so
  even a router that skipped that check could not declare the same episode twice.

A cause is (rule, service). Its incident takes the earliest start among the alerts that
called for it as both started and detected time (opsloop knows nothing earlier). Later alerts
of the cause join it while it is open; once it is resolved, the next firing alert declares the
next episode. A resolved instance joins an open incident but never declares one.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from opsloop.alerts import routing_rules
from opsloop.alerts.matchers import matches_all
from opsloop.alerts.models import Alert, AlertStatus
from opsloop.alerts.routing_models import RouteCause
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.errors import OpsloopError
from opsloop.core.scheduler import Job
from opsloop.incidents import lookup
from opsloop.incidents import service as incidents
from opsloop.incidents.fields import MAX_TITLE
from opsloop.incidents.vocabulary import DetectionMethod

log = logging.getLogger("opsloop.alerts")
ROUTING_JOB = "alert-routing"
INTERVAL = timedelta(seconds=5)
BATCH = 500
#: Batches one job run routes at most; a larger backlog drains over the next runs.
MAX_BATCHES = 400
ORIGIN_PREFIX = "route:"
Cause = tuple[int, str]  # (rule id, service or "")
_TABLE = cast(Table, Alert.__table__)
_MARK_ROUTED = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("alert"))
    .values(
        route_rule_id=bindparam("rule"),
        incident_id=func.coalesce(_TABLE.c.incident_id, bindparam("incident", type_=Integer)),
    )
)


@dataclass
class Waiting:
    """Alerts of one cause that need an incident declared first."""

    earliest: datetime
    first_id: int
    name: str
    summary: str
    count: int = 0


@dataclass
class Outcome:
    claimed: int = 0
    routed: int = 0  # decided about: linked, or left without an incident
    linked: int = 0
    declared: list[str] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        self.claimed += other.claimed
        self.routed += other.routed
        self.linked += other.linked
        self.declared += other.declared


def origin_of(cause: Cause, episode: int) -> str:
    return f"{ORIGIN_PREFIX}{cause[0]}:{cause[1]}:{episode}"


def _claim(session: Session, batch: int) -> list[Any]:
    query = (
        select(Alert.id, Alert.labels, Alert.service, Alert.starts_at, Alert.status)
        .add_columns(Alert.name, Alert.annotations)
        .where(Alert.routed_at.is_(None))
        .order_by(Alert.starts_at, Alert.id)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        # The claim: rows another router holds are skipped, not waited for, and no two
        # routers decide about the same alert.
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query))


class _Targets:
    """Where each (rule, service) sends the alerts of one batch: read for the whole batch in
    three queries, not per alert."""

    WAIT = -1

    def __init__(self, session: Session, services: set[str]) -> None:
        causes = session.scalars(select(RouteCause).where(RouteCause.service.in_(sorted(services))))
        by_cause = {(c.rule_id, c.service): c.incident_id for c in causes}
        refs = lookup.refs_by_id(session, [i for i in by_cause.values() if i is not None])
        self.cause_incident = {
            cause: incident_id
            for cause, incident_id in by_cause.items()
            if incident_id is not None and incident_id in refs and refs[incident_id].is_open
        }
        self.open_of_service = lookup.newest_open_by_service(session, services - {""})

    def of(self, rule: routing_rules.RuleView, service: str, firing: bool) -> int | None:
        found = self.cause_incident.get((rule.id, service))
        if found is not None:
            return found
        if rule.action == routing_rules.RouteAction.attach and service:
            found = self.open_of_service.get(service)
            if found is not None:
                return found
        if rule.may_declare and firing:
            return self.WAIT
        return None


def route_batch(
    db: Database, *, batch: int = BATCH
) -> tuple[Outcome, dict[Cause, Waiting], dict[Cause, routing_rules.RuleView]]:
    """One data-plane transaction: claim, decide, link. Alerts whose cause needs a declaration
    stay unrouted and are returned by cause."""
    outcome = Outcome()
    waiting: dict[Cause, Waiting] = {}
    rules_by_cause: dict[Cause, routing_rules.RuleView] = {}
    with db.write(audited=False) as session:
        if routing_rules.count_rules(session) == 0:
            return outcome, waiting, rules_by_cause  # nothing routes; see add_rule
        rows = _claim(session, batch)
        outcome.claimed = len(rows)
        if not rows:
            return outcome, waiting, rules_by_cause
        rules = routing_rules.list_rules(session)
        targets = _Targets(session, {row.service or "" for row in rows})
        decided: dict[tuple[int | None, int | None], list[int]] = defaultdict(list)
        for row in rows:
            labels = json.loads(row.labels)
            service = row.service or ""
            firing = row.status == AlertStatus.firing
            rule_id: int | None = None
            incident: int | None = None
            wait = False
            for rule in rules:
                if not matches_all(rule.matchers, labels):
                    continue
                target = targets.of(rule, service, firing)
                if target == _Targets.WAIT:
                    wait = True
                    cause = (rule.id, service)
                    rules_by_cause[cause] = rule
                    _wait(waiting, cause, row)
                    break
                rule_id = rule.id
                if target is not None:
                    incident = target
                    break
                if not rule.continue_matching:
                    break
            if not wait:
                decided[(rule_id, incident)].append(row.id)
        params = [
            {"alert": alert_id, "rule": rule_id, "incident": incident_id}
            for (rule_id, incident_id), ids in decided.items()
            for alert_id in ids
        ]
        outcome.routed = len(params)
        outcome.linked = sum(1 for p in params if p["incident"] is not None)
        if params:
            # One statement run for every alert (executemany: pipelined by psycopg, in C on
            # SQLite): linked and marked routed at once. An alert linked by hand meanwhile
            # keeps that link.
            session.connection().execute(_MARK_ROUTED.values(routed_at=clock.now()), params)
    return outcome, waiting, rules_by_cause


def _wait(waiting: dict[Cause, Waiting], cause: Cause, row: Any) -> None:
    found = waiting.get(cause)
    if found is None:
        summary = json.loads(row.annotations).get("summary", "")
        found = waiting[cause] = Waiting(row.starts_at, row.id, row.name, summary)
    elif row.starts_at < found.earliest:
        found.earliest, found.first_id = row.starts_at, row.id
    found.count += 1


def declare_waiting(
    db: Database, waiting: dict[Cause, Waiting], rules: dict[Cause, routing_rules.RuleView]
) -> list[str]:
    """Declare an incident for each cause that still has none open; the keys declared."""
    declared: list[str] = []
    if not waiting:
        return declared
    with db.write() as session:
        for cause in sorted(waiting):
            rule, wanted = rules[cause], waiting[cause]
            row = session.get(RouteCause, cause)
            # The guard: read again under the write lock, another router may have declared.
            if row is not None and row.incident_id is not None:
                ref = lookup.refs_by_id(session, [row.incident_id]).get(row.incident_id)
                if ref is not None and ref.is_open:
                    continue
            episode = (row.episode if row is not None else 0) + 1
            key, incident_id = _declare(session, rule, cause, wanted, episode)
            if row is None:
                row = RouteCause(rule_id=cause[0], service=cause[1], episode=episode)
                session.add(row)
            row.episode, row.incident_id, row.declared_at = episode, incident_id, clock.now()
            session.flush()
            audit.record(
                session,
                principal=SYSTEM,
                action="alert.route.declare",
                entity_type="incident",
                entity_id=key,
                after={
                    "rule": rule.id,
                    "service": cause[1] or None,
                    "episode": episode,
                    "first_alert": wanted.first_id,
                },
            )
            declared.append(key)
    return declared


def _printable(text: str, limit: int) -> str:
    """Label and annotation values may hold anything; an incident's text may not."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:limit]


def _declare(
    session: Session, rule: routing_rules.RuleView, cause: Cause, wanted: Waiting, episode: int
) -> tuple[str, int]:
    service = cause[1]
    name = _printable(wanted.name, 120) or "alert"
    title = f"{name}: {_printable(wanted.summary, MAX_TITLE)}" if wanted.summary else name
    suffix = f" ({service})" if service and service not in title else ""
    title = title[: MAX_TITLE - len(suffix)].rstrip() + suffix
    since = min(wanted.earliest, clock.now())
    summary = (
        f"Declared by alert routing rule {rule.name or rule.id} for {service or 'alerts'}: "
        f"{name} firing since {since.isoformat(timespec='seconds')}."
    )

    def declare(title: str, services: list[str]) -> tuple[str, int]:
        found = incidents.declare(
            session,
            principal=SYSTEM,
            title=title,
            severity=rule.severity,
            summary=summary,
            services=services,
            detection_method=DetectionMethod.alert,
            started_at=since,
            detected_at=since,
            origin=origin_of(cause, episode),
        )
        return found.key, found.id

    # A service removed from the catalog since the alert arrived, or text the incident
    # refuses: the incident is still declared, more plainly, rather than the alerts waiting
    # for it forever.
    attempts = [(title, [service]), (title, [])] if service else [(title, [])]
    for plain_title, services in attempts:
        try:
            with session.begin_nested():
                return declare(plain_title, services)
        except OpsloopError as exc:
            log.warning("routing rule %s could not declare as planned: %s", rule.id, exc.message)
    return declare(f"Alerts routed by rule {rule.id}", [])


def route_pending(db: Database, *, batch: int = BATCH, max_batches: int = MAX_BATCHES) -> Outcome:
    """Route alerts until none is waiting (or ``max_batches`` batches were claimed)."""
    total = Outcome()
    for _ in range(max_batches):
        outcome, waiting, rules = route_batch(db, batch=batch)
        outcome.declared = declare_waiting(db, waiting, rules)
        total.add(outcome)
        if outcome.claimed == 0:
            break
        if outcome.claimed < batch and not waiting:
            break
    return total


def jobs(settings: Settings) -> list[Job]:
    def route(db: Database, now: datetime) -> None:
        outcome = route_pending(db)
        if outcome.linked or outcome.declared:
            log.info(
                "routed %d alerts: %d linked, declared %s",
                outcome.claimed,
                outcome.linked,
                ", ".join(outcome.declared) or "none",
            )

    return [Job(ROUTING_JOB, INTERVAL, route)]
