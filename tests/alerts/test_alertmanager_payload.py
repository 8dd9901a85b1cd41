"""Alertmanager's webhook payload (version 4) as opsloop reads it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from opsloop.alerts.alertmanager_payload import WebhookIn


def payload(**changes: Any) -> dict[str, Any]:
    alert = {
        "status": "firing",
        "labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"},
        "annotations": {"summary": "5xx above 2 %", "runbook_url": "https://wiki/runbook"},
        "startsAt": "2026-12-06T10:00:00.123Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
        "fingerprint": "c4b0d3a1f2e3d4c5",
    }
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "opsloop",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [alert],
    }
    return body | changes


def test_a_firing_alert_has_no_end_and_unknown_keys_are_ignored() -> None:
    body = payload(someFutureKey={"x": 1})
    body["alerts"][0]["silencedBy"] = []
    parsed = WebhookIn.model_validate(body)
    alert = parsed.alerts[0]
    assert alert.name == "HighErrorRate" and alert.ended_at is None
    assert alert.starts_at == datetime(2026, 12, 6, 10, 0, 0, 123000, tzinfo=UTC)


def test_a_resolved_alert_has_its_end() -> None:
    body = payload(status="resolved")
    body["alerts"][0] |= {"status": "resolved", "endsAt": "2026-12-06T10:05:00Z"}
    alert = WebhookIn.model_validate(body).alerts[0]
    assert alert.ended_at == datetime(2026, 12, 6, 10, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda b: b.update(version="3"), "version"),
        (lambda b: b.update(alerts=[]), "alerts"),
        (lambda b: b["alerts"][0]["labels"].pop("alertname"), "labels"),
        (lambda b: b["alerts"][0].update(startsAt="2026-12-06T10:00:00"), "startsAt"),
        (lambda b: b["alerts"][0].update(status="pending"), "status"),
        (lambda b: b["alerts"][0].pop("fingerprint"), "fingerprint"),
    ],
)
def test_a_malformed_payload_is_refused_naming_the_field(change: Any, where: str) -> None:
    body = payload()
    change(body)
    with pytest.raises(ValidationError) as caught:
        WebhookIn.model_validate(body)
    assert where in str(caught.value)
