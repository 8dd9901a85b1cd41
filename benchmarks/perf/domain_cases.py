"""Cases of the domains after SLOs: the Alertmanager webhook, alert, incident, change and
action-item lists, the incident web page and the reliability figures. Their data comes from
seed_domains.py, made only when a selected case names it in ``needs``."""

from __future__ import annotations

from case_types import READ, WEB, Case

DOMAIN_CASES = [
    Case(
        "alerts_webhook",
        "POST /api/v1/alerts/alertmanager, 10 alerts a payload (new, repeated, resolved), "
        "16 connections",
        mode="alerts",
        connections=16,
        alerts=10,
        needs=("alerts",),
    ),
    Case(
        "alerts_page",
        "GET /api/v1/alerts?limit=50",
        path="/api/v1/alerts?limit=50",
        target=READ,
        needs=("alerts",),
    ),
    Case(
        "incidents_page",
        "GET /api/v1/incidents?limit=50 (10,000 imported incidents)",
        path="/api/v1/incidents?limit=50",
        target=READ,
        needs=("incidents",),
    ),
    Case(
        "incidents_filtered",
        "GET /api/v1/incidents?status=resolved&service=svc-042&limit=50",
        path="/api/v1/incidents?status=resolved&service=svc-042&limit=50",
        target=READ,
        needs=("incidents",),
    ),
    Case(
        "incidents_severity",
        "GET /api/v1/incidents?severity=SEV1&limit=50",
        path="/api/v1/incidents?severity=SEV1&limit=50",
        target=READ,
        needs=("incidents",),
    ),
    Case(
        "web_incidents",
        "web GET /incidents (cookie)",
        path="/incidents",
        auth="cookie",
        target=WEB,
        needs=("incidents",),
    ),
    Case(
        "reliability",
        "GET /api/v1/reliability?by=month over the year of imported incidents, 8 connections",
        path="/api/v1/reliability?by=month&since={since}&until={until}",
        # A report takes a good part of a second of CPU: 64 waiting clients would only
        # measure the queue.
        connections=8,
        needs=("incidents",),
    ),
    Case(
        "reliability_30d",
        "GET /api/v1/reliability (by service, the default 30 days), 8 connections",
        path="/api/v1/reliability",
        connections=8,
        needs=("incidents",),
    ),
    Case(
        "changes_page",
        "GET /api/v1/changes?limit=50 (300 change requests)",
        path="/api/v1/changes?limit=50",
        target=READ,
        needs=("changes",),
    ),
    Case(
        "action_items",
        "GET /api/v1/action-items?limit=50 (200 items)",
        path="/api/v1/action-items?limit=50",
        target=READ,
        needs=("incidents", "action_items"),
    ),
]
