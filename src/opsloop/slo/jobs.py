"""The SLO evaluation job run by the scheduler inside ``opsloop serve``."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.scheduler import Job
from opsloop.slo import evaluation
from opsloop.slo.prometheus import PrometheusClient

log = logging.getLogger("opsloop.slo")


def jobs(settings: Settings) -> list[Job]:
    def evaluate_all(db: Database, now: datetime) -> None:
        client = PrometheusClient(settings.prometheus_url) if settings.prometheus_url else None
        try:
            statuses = evaluation.evaluate(db, now, prometheus=client)
        finally:
            if client is not None:
                client.close()
        log.info("evaluated %d SLOs", len(statuses))

    interval = timedelta(seconds=settings.slo_evaluation_interval_seconds)
    return [Job("slo-evaluation", interval, evaluate_all)]
