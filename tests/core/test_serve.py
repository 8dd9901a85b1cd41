"""``opsloop serve`` as operators run it: several workers, one set of metrics, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.core.scheduler_models import SchedulerRun
from tests.helpers import running_server


def test_two_workers_report_summed_request_counts(db: Database, tmp_path: Path) -> None:
    with running_server(
        tmp_path,
        "--workers",
        "2",
        OPSLOOP_DATABASE_URL=db.url,
        OPSLOOP_ADMIN_PASSWORD="serve-test-pw",
        OPSLOOP_DEMO_DATA="false",
        OPSLOOP_LOG_FORMAT="json",
    ) as (base, _):
        # New connections each time, so both workers get some of them.
        for _ in range(40):
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        text = httpx.get(f"{base}/metrics", timeout=5).text
        # Forked from the supervisor, which imported the app for them: a spawned worker's
        # command line is multiprocessing's, not the supervisor's.
        for pid in _worker_pids(tmp_path / "server.log"):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert b"serve" in command and b"multiprocessing" not in b" ".join(command), command
        # Background jobs start a few seconds after the workers, in the supervising process.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _job_finished(db):
            time.sleep(0.5)
        after_jobs = httpx.get(f"{base}/metrics", timeout=5).text
    served = sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "opsloop_http_requests_total"
        and sample.labels.get("route") == "/healthz"
        and sample.labels.get("status") == "200"
    )
    assert served == 40
    # The supervising process ran the jobs; each worker's /metrics reports their runs too.
    timed = {
        sample.labels["job"]
        for family in text_string_to_metric_families(after_jobs)
        for sample in family.samples
        if sample.name == "opsloop_scheduler_job_duration_seconds_count" and sample.value >= 1
    }
    assert "slo-evaluation" in timed, timed
    lines = (tmp_path / "server.log").read_text().splitlines()
    assert any('"route": "/healthz"' in line and '"request_id"' in line for line in lines)
    with db.read() as session:  # the server ran on this backend: its first start seeded it
        assert auth.get_user(session, username="admin").role is Role.admin
    records = [json.loads(line) for line in lines if line.startswith("{")]
    workers = {r["pid"] for r in records if r.get("route")}
    jobs = {r["pid"] for r in records if r["message"].startswith("evaluated ")}
    assert len(workers) == 2, workers
    assert len(jobs) == 1 and not jobs & workers, (jobs, workers)


def _worker_pids(log: Path) -> set[int]:
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return {r["pid"] for r in records if r.get("route")}


def _job_finished(db: Database) -> bool:
    with db.read() as session:
        return any(run.finished_at is not None for run in session.query(SchedulerRun))
