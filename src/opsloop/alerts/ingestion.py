"""Alertmanager webhooks, the data plane: store each delivery's alerts whole, idempotently.

An alert instance is keyed by Alertmanager's fingerprint and its start time. A firing notice
creates the row; the resolved notice of the same instance ends it; repeat notifications and
retries match the existing row and change nothing. A resolved instance stays resolved: when
the same alert fires again, Alertmanager gives it a new start time, so a new instance.

Deliveries go through a group commit (:mod:`opsloop.core.group_commit`): every webhook queued
in a process is stored in one ``write(audited=False)`` transaction, each delivery whole, with
one receipt row naming the sender and the request. Nothing is audited per alert.

Services named by alerts land in the catalog (``ensure_services``), which audits each service
it creates and so needs an audited write holding the audit lock. That write is not the group's
transaction, which never takes the audit lock: it runs in the group's ``prepare`` step, before
the group, and only when a group names a service the catalog lacks (once per new service). A
service created there stays even if the group then fails; the retried delivery finds it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from opsloop.alerts import alert_writes, standard
from opsloop.alerts.alertmanager_payload import AlertIn, WebhookIn
from opsloop.alerts.models import AlertReceipt, AlertStatus
from opsloop.core import clock, group_commit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.db import Database
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.services import service as catalog
from opsloop.services.vocabulary import name_problem
from opsloop.slo import service as slo_service
from opsloop.slo.rules import NAME_LABEL, SERVICE_LABEL, SEVERITY_LABEL

WRITER = "alert-webhooks"


@dataclass(frozen=True)
class Delivery:
    """One webhook as received, with how this server reads it."""

    payload: WebhookIn
    principal: Principal
    request_id: str
    service_labels: tuple[str, ...]
    rules: Mapping[str, standard.Target]


async def submit(db: Database, delivery: Delivery) -> int:
    """Queue a delivery for this process's group commit; the number of alerts it carried, once
    committed. Raises ``group_commit.QueueFull`` when the writer is too far behind."""
    require(delivery.principal, Role.responder)
    refuse_nul(delivery.payload)
    writer = group_commit.writer(db, WRITER, store_deliveries, prepare=add_services)
    return await writer.submit(delivery)


def receive(session: Session, delivery: Delivery) -> int:
    """Store one delivery in the caller's transaction (tests, tools); see :func:`submit`."""
    require(delivery.principal, Role.responder)
    refuse_nul(delivery.payload)
    outcome = store_deliveries(session, [delivery])[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def refuse_nul(payload: WebhookIn) -> None:
    """PostgreSQL text cannot hold NUL; JSON can. Refused up front, naming the field, so that
    both databases answer the same and no group fails on it."""
    for index, alert in enumerate(payload.alerts):
        for part, values in (("labels", alert.labels), ("annotations", alert.annotations)):
            for key, value in values.items():
                if "\x00" in key or "\x00" in value:
                    where = f"alerts.{index}.{part}"
                    raise ValidationFailed(f"{where}: {key[:40]!r} contains a NUL", field=where)
        if "\x00" in alert.generator_url or "\x00" in alert.fingerprint:
            where = f"alerts.{index}"
            raise ValidationFailed(f"{where}: a NUL in generatorURL or fingerprint", field=where)
    if "\x00" in payload.receiver or "\x00" in payload.group_key:
        raise ValidationFailed("receiver or groupKey contains a NUL", field="receiver")


def service_of(labels: Mapping[str, str], service_labels: Sequence[str]) -> str | None:
    """The first of ``service_labels`` the alert has, if its value is a service name."""
    for label in service_labels:
        value = labels.get(label, "")
        if value:
            return value if name_problem(value) is None else None
    return None


def add_services(db: Database, deliveries: Sequence[Delivery]) -> Sequence[Delivery]:
    """Put the services a group names into the catalog, in an audited write of its own, and
    only if the catalog lacks one (a read decides, outside any write lock)."""
    named: dict[str, Principal] = {}
    for delivery in deliveries:
        for alert in delivery.payload.alerts:
            name = service_of(alert.labels, delivery.service_labels)
            if name is not None:
                named.setdefault(name, delivery.principal)
    if not named:
        return deliveries
    with db.read() as session:
        known = catalog.routing_facts(session, list(named))
    missing = sorted(set(named) - set(known))
    if missing:
        with db.write() as session:
            catalog.ensure_services(session, missing, source="alert", principal=named[missing[0]])
    return deliveries


def store_deliveries(session: Session, deliveries: Sequence[Delivery]) -> list[int | Exception]:
    """Store every delivery of a group in the caller's transaction; one outcome each (the
    number of alerts it carried)."""
    now = clock.now()
    slo_ids = _slo_ids(session, deliveries)
    rows: dict[tuple[str, datetime], dict[str, Any]] = {}
    receipts = []
    for delivery in deliveries:
        firing = resolved = 0
        for alert in delivery.payload.alerts:
            row = _row(alert, delivery, now, slo_ids)
            key = (alert.fingerprint, alert.starts_at)
            earlier = rows.get(key)
            if earlier is None:
                rows[key] = row
            elif row["status"] == AlertStatus.resolved and earlier["status"] == AlertStatus.firing:
                earlier.update(
                    status=AlertStatus.resolved,
                    ends_at=row["ends_at"],
                    resolved_request_id=delivery.request_id,
                )
            resolved += alert.status == "resolved"
            firing += alert.status == "firing"
        receipts.append(
            {
                "received_at": now,
                "received_by": delivery.principal.actor,
                "request_id": delivery.request_id,
                "receiver": delivery.payload.receiver,
                "group_key": delivery.payload.group_key,
                "firing": firing,
                "resolved": resolved,
            }
        )
    # In key order: concurrent groups (other workers, replicas) then lock the rows they share
    # in the same order and cannot deadlock on PostgreSQL.
    alert_writes.upsert_alerts(session, [rows[key] for key in sorted(rows)])
    session.execute(insert(AlertReceipt), receipts)
    return [len(d.payload.alerts) for d in deliveries]


def _row(
    alert: AlertIn, delivery: Delivery, now: datetime, slo_ids: Mapping[tuple[str, str], int]
) -> dict[str, Any]:
    severity = alert.labels.get(SEVERITY_LABEL, "").lower()[:32]
    target = standard.target_for(delivery.rules, severity)
    is_resolved = alert.status == "resolved"
    slo_key = (alert.labels.get(SERVICE_LABEL, ""), alert.labels.get(NAME_LABEL, ""))
    slo_id = slo_ids.get(slo_key)
    service = service_of(alert.labels, delivery.service_labels)
    if service is None and slo_id is not None:
        service = slo_key[0]  # a burn-rate alert is about its SLO's service
    return {
        "fingerprint": alert.fingerprint,
        "starts_at": alert.starts_at,
        "ends_at": (alert.ended_at or now) if is_resolved else None,
        "status": AlertStatus.resolved if is_resolved else AlertStatus.firing,
        "name": alert.name[:255],
        "severity": severity,
        "service": service,
        "slo_id": slo_id,
        "labels": json.dumps(alert.labels, sort_keys=True),
        "annotations": json.dumps(alert.annotations, sort_keys=True),
        "generator_url": alert.generator_url,
        "receiver": delivery.payload.receiver,
        "respond_by": target.respond_by(alert.starts_at),
        "received_at": now,
        "received_by": delivery.principal.actor,
        "request_id": delivery.request_id,
        "resolved_request_id": delivery.request_id if is_resolved else "",
        "acked_at": None,
        "acked_by": "",
        "ack_seconds": None,
        "escalated_at": None,
        "feedback": None,
        "feedback_action": "",
        "feedback_by": "",
        "feedback_at": None,
        "incident_id": None,
        "routed_at": None,
        "route_rule_id": None,
    }


def _slo_ids(session: Session, deliveries: Sequence[Delivery]) -> dict[tuple[str, str], int]:
    """opsloop's own burn-rate alerts name their SLO by the ``slo_service``/``slo_name``
    labels the generated rules put on them."""
    wanted = {
        (a.labels[SERVICE_LABEL], a.labels[NAME_LABEL])
        for d in deliveries
        for a in d.payload.alerts
        if a.labels.get(SERVICE_LABEL) and a.labels.get(NAME_LABEL)
    }
    found = {}
    for service, name in wanted:
        try:
            found[(service, name)] = slo_service.get_slo(session, ref=f"{service}/{name}").id
        except NotFound:
            continue
    return found
