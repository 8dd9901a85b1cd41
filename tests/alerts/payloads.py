"""Alertmanager webhook payloads (version 4) as Alertmanager sends them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from opsloop.alerts.models import Alert
from opsloop.core.db import Database

ZERO = "0001-01-01T00:00:00Z"


def alert(
    fingerprint: str,
    *,
    name: str = "HighErrorRate",
    status: str = "firing",
    starts: str = "2026-11-02T08:55:00Z",
    ends: str = ZERO,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, **(labels or {})},
        "annotations": annotations or {},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://prometheus.example/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def webhook(*alerts: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "receiver": "opsloop",
        "status": status or ("firing" if firing else "resolved"),
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example",
        "alerts": list(alerts),
        "someFutureKey": {"ignored": True},
    }


def table(db: Database) -> list[tuple[Any, ...]]:
    """Every alert row, every column, in id order: compared before and after a repeat."""
    columns = list(Alert.__table__.columns)
    with db.read() as session:
        return [tuple(row) for row in session.execute(select(*columns).order_by(Alert.id))]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
