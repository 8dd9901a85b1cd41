"""Storms of alerts for routing tests: many instances of one cause, received in webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from opsloop.alerts import ingestion, routing_rules
from opsloop.alerts.alertmanager_payload import WebhookIn
from opsloop.alerts.models import Alert
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.incidents.models import Incident
from tests.alerts.payloads import alert, webhook
from tests.alerts.test_escalation import RULES, SENDER

FIRST = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def storm(
    count: int,
    *,
    service: str = "api",
    prefix: str = "s",
    name: str = "HighErrorRate",
    **labels: str,
) -> list[dict[str, Any]]:
    """``count`` instances firing one second apart from FIRST (the first is the earliest)."""
    return [
        alert(
            f"{prefix}{n:05d}",
            name=name,
            starts=(FIRST + timedelta(seconds=n)).isoformat().replace("+00:00", "Z"),
            labels={"service": service, "severity": "critical", "instance": f"i{n}", **labels},
            annotations={"summary": "errors above 5%"},
        )
        for n in range(count)
    ]


def receive(db: Database, *alerts_in: dict[str, Any]) -> None:
    """Store one webhook as the receiver does, services added to the catalog first."""
    payload = WebhookIn.model_validate(webhook(*alerts_in))
    delivery = ingestion.Delivery(payload, SENDER, "req-1", ("service", "job"), RULES)
    ingestion.add_services(db, [delivery])
    with db.write(audited=False) as session:
        ingestion.receive(session, delivery)


def receive_in_batches(db: Database, alerts_in: list[dict[str, Any]], size: int = 500) -> None:
    for start in range(0, len(alerts_in), size):
        receive(db, *alerts_in[start : start + size])


def add_rule(db: Database, matchers: str, action: str = "declare", **options: Any) -> int:
    with db.write() as session:
        return routing_rules.add_rule(
            session, principal=SYSTEM, matchers=matchers, action=action, **options
        ).id


def incidents(db: Database) -> list[Incident]:
    with db.read() as session:
        return list(session.scalars(select(Incident).order_by(Incident.id)))


def linked_counts(db: Database) -> dict[int | None, int]:
    with db.read() as session:
        rows = session.execute(select(Alert.incident_id, func.count()).group_by(Alert.incident_id))
        return {incident_id: int(count) for incident_id, count in rows}


def unrouted(db: Database) -> int:
    with db.read() as session:
        query = select(func.count()).select_from(Alert).where(Alert.routed_at.is_(None))
        return int(session.scalar(query) or 0)
