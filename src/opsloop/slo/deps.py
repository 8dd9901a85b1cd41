"""Request-scoped helpers the SLO API and the SLO pages share."""

from __future__ import annotations

from fastapi import Request

from opsloop.core import clock
from opsloop.core.db import Database
from opsloop.slo import evaluation
from opsloop.slo import service as slo_service
from opsloop.slo.prometheus import PrometheusClient


def prometheus_client(request: Request) -> PrometheusClient | None:
    """One client per process, reused across requests (keep-alive to Prometheus)."""
    url = request.app.state.settings.prometheus_url
    if not url:
        return None
    client: PrometheusClient | None = getattr(request.app.state, "prometheus", None)
    if client is None:
        client = PrometheusClient(url)
        request.app.state.prometheus = client
    return client


def evaluate_applied(request: Request, applied: list[slo_service.Applied]) -> None:
    """Evaluate new and changed SLOs once committed, so they show a status at once rather
    than after the scheduler's next tick."""
    changed = [a.slo_id for a in applied if a.outcome != "unchanged"]
    if changed:
        db: Database = request.app.state.db
        prometheus = prometheus_client(request)
        evaluation.evaluate(db, now=clock.now(), prometheus=prometheus, slo_ids=changed)
