"""``opsloop slo evaluate`` waits for the scheduler's evaluation job instead of racing it."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.scheduler import job_lock
from opsloop.slo import ingestion, jobs
from opsloop.slo import service as slo_service
from opsloop.slo.models import Evaluation


def test_evaluating_by_hand_waits_for_a_running_scheduled_evaluation(
    db: Database, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    settings = Settings(database_url=db.url, data_dir=tmp_path, scheduler_enabled=False)
    defn = slo_service.pushed_definition(
        service="checkout", name="availability", objective=99.0, window="7d"
    )
    with db.write() as session:
        slo = slo_service.get_slo(
            session, ref=slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id
        )
        raw = [(clock.now() - timedelta(minutes=1), 98, 100)]
        ingestion.push_events(session, principal=SYSTEM, slo=slo, raw=raw)
    done: list[Any] = []
    with job_lock(db, jobs.EVALUATION_JOB, tmp_path / "locks") as held:
        assert held  # what the scheduler holds while its evaluation runs
        by_hand = threading.Thread(target=lambda: done.append(jobs.evaluate_now(db, settings)))
        by_hand.start()
        by_hand.join(0.5)
        assert by_hand.is_alive() and done == []
        with db.read() as session:
            assert session.get(Evaluation, slo.id) is None
    by_hand.join(30)
    assert len(done) == 1 and list(done[0]) == [slo.id]
    with db.read() as session:
        assert session.get(Evaluation, slo.id) is not None
