"""The change domain's job in the scheduler: verify each completed change once, an hour after
it finished (opsloop.changes.verification)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from opsloop.changes import verification
from opsloop.changes.impact_rules import VerifyPolicy
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.errors import OpsloopError
from opsloop.core.scheduler import Job
from opsloop.slo.prometheus import PrometheusClient

log = logging.getLogger("opsloop.changes")
VERIFY_JOB = "change-verification"


def verify_rules(settings: Settings) -> VerifyPolicy:
    return VerifyPolicy(
        tolerance=settings.change_verify_tolerance,
        burn_threshold=settings.change_verify_burn_threshold,
    )


def run_verifications(db: Database, settings: Settings, now: datetime) -> list[str]:
    """One pass: claim the changes due (a short transaction of their own, so a claim is seen
    by every other run at once), then verify each; the keys verified."""
    with db.write(audited=False) as session:
        claimed = verification.claim_due(session, now=now)
    if not claimed:
        return []
    client = PrometheusClient(settings.prometheus_url) if settings.prometheus_url else None
    verified = []
    try:
        for key in claimed:
            try:
                with db.write() as session:
                    verification.verify(
                        session,
                        principal=SYSTEM,
                        key=key,
                        prometheus=client,
                        rules=verify_rules(settings),
                    )
                verified.append(key)
            except OpsloopError as exc:
                # Rolled back or deleted since it was claimed: nothing to verify any more.
                log.warning("change %s not verified: %s", key, exc.message)
    finally:
        if client is not None:
            client.close()
    return verified


def jobs(settings: Settings) -> list[Job]:
    def run(db: Database, now: datetime) -> None:
        verified = run_verifications(db, settings, now)
        if verified:
            log.info("changes verified: %s", verified)

    return [Job(VERIFY_JOB, timedelta(minutes=1), run)]
