"""The SLO evaluation job run by the scheduler inside ``opsloop serve``, and by hand."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from opsloop.core import clock
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.scheduler import Job, job_lock
from opsloop.slo import evaluation
from opsloop.slo.prometheus import PrometheusClient
from opsloop.slo.status import SLOStatus

log = logging.getLogger("opsloop.slo")
EVALUATION_JOB = "slo-evaluation"


def _evaluate_all(settings: Settings, db: Database, now: datetime) -> dict[int, SLOStatus]:
    client = PrometheusClient(settings.prometheus_url) if settings.prometheus_url else None
    try:
        return evaluation.evaluate(db, now=now, prometheus=client)
    finally:
        if client is not None:
            client.close()


def jobs(settings: Settings) -> list[Job]:
    def evaluate_all(db: Database, now: datetime) -> None:
        log.info("evaluated %d SLOs", len(_evaluate_all(settings, db, now)))

    interval = timedelta(seconds=settings.slo_evaluation_interval_seconds)
    return [Job(EVALUATION_JOB, interval, evaluate_all)]


def evaluate_now(db: Database, settings: Settings) -> dict[int, SLOStatus]:
    """Evaluate every SLO once, as the scheduler's job does, after waiting for any replica's
    run of that job to finish: two evaluations at once could record an alert change twice."""
    with job_lock(db, EVALUATION_JOB, settings.data_dir / "locks", wait=True):
        return _evaluate_all(settings, db, clock.now())
