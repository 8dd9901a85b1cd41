"""API input and output of alerts (the webhook body is :mod:`.alertmanager_payload`)."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import ConfigDict, Field

from opsloop.alerts.models import Alert, AlertStatus, Feedback
from opsloop.alerts.service import MAX_ACTION
from opsloop.core.schemas import Schema


class ReceivedOut(Schema):
    alerts: int = Field(description="alerts in the payload (new, repeated or resolved)")


class AlertOut(Schema):
    id: int
    name: str
    status: AlertStatus
    severity: str
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    service: str | None
    slo_id: int | None
    labels: dict[str, str]
    annotations: dict[str, str]
    runbook_url: str | None
    generator_url: str
    receiver: str
    respond_by: datetime
    received_at: datetime
    received_by: str
    acked_at: datetime | None
    acked_by: str | None
    escalated_at: datetime | None
    feedback: Feedback | None
    feedback_action: str | None
    feedback_by: str | None
    feedback_at: datetime | None
    incident_id: int | None

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        annotations: dict[str, str] = json.loads(alert.annotations)
        return cls(
            id=alert.id,
            name=alert.name,
            status=alert.status,
            severity=alert.severity,
            fingerprint=alert.fingerprint,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            service=alert.service,
            slo_id=alert.slo_id,
            labels=json.loads(alert.labels),
            annotations=annotations,
            runbook_url=annotations.get("runbook_url") or None,
            generator_url=alert.generator_url,
            receiver=alert.receiver,
            respond_by=alert.respond_by,
            received_at=alert.received_at,
            received_by=alert.received_by,
            acked_at=alert.acked_at,
            acked_by=alert.acked_by or None,
            escalated_at=alert.escalated_at,
            feedback=alert.feedback,
            feedback_action=alert.feedback_action or None,
            feedback_by=alert.feedback_by or None,
            feedback_at=alert.feedback_at,
            incident_id=alert.incident_id,
        )


class FeedbackIn(Schema):
    model_config = ConfigDict(extra="forbid")

    verdict: Feedback
    action: str = Field(default="", max_length=MAX_ACTION)


class MTTAOut(Schema):
    name: str
    severity: str
    acknowledged: int
    mean_seconds: float
