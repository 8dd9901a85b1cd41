"""The scheduler's SLO evaluation job, as it runs inside ``opsloop serve``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.scheduler import Scheduler
from opsloop.slo import ingestion
from opsloop.slo import service as slo_service
from opsloop.slo.jobs import jobs
from opsloop.slo.models import Evaluation


def test_the_job_evaluates_every_interval_and_records_results(
    db: Database, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.current = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    settings = Settings(database_url=db.url, data_dir=tmp_path, slo_evaluation_interval_seconds=60)
    defn = slo_service.pushed_definition(
        service="api", name="availability", objective=99.0, window="7d"
    )
    with db.write() as session:
        slo_id = slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id
        slo = slo_service.get_slo(session, ref=slo_id)
        now = clock.now()
        ingestion.push_events(
            session, principal=SYSTEM, slo=slo, raw=[(now - timedelta(minutes=1), 98, 100)]
        )
    scheduler = Scheduler(db, jobs(settings), tmp_path / "locks")
    assert scheduler.run_due() == ["slo-evaluation"]
    assert scheduler.run_due() == []  # not due again within the interval
    with db.read() as session:
        first = session.get(Evaluation, slo_id)
        assert first is not None and first.evaluated_at == now
    frozen_clock.advance(timedelta(minutes=1))
    assert scheduler.run_due() == ["slo-evaluation"]
    with db.read() as session:
        state = slo_service.get_slo(session, ref=slo_id).policy_state
    assert state == "freeze"  # 2 % errors against a 1 % budget: overspent
