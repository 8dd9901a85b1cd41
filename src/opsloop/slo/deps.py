"""Request-scoped helpers the SLO API and the SLO pages share."""

from __future__ import annotations

from fastapi import Request

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
