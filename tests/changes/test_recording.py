"""Recording a deployment from a pipeline: one call through the API and the CLI, one audit
record, nothing recorded twice for a retried step, refusals that name the field and write
nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.changes.helpers import actions, make_service, row_counts
from tests.cli_run import Invoked, assert_clean_failure, invoke
from tests.helpers import bearer


@pytest.fixture
def opsloop(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database):  # type: ignore[no-untyped-def]
    def run(*args: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args)

    return run


@pytest.fixture
def ready(db: Database, at_now: clock.FrozenClock) -> Database:
    make_service(db, "checkout")
    return db


def test_the_api_records_once_per_service_version_and_run(
    client: TestClient, ready: Database, tokens: dict[Role, str]
) -> None:
    who = bearer(tokens[Role.responder])
    now = clock.now()
    body = {
        "service": "checkout",
        "version": "1.4.2",
        "commit_sha": "A1B2C3D4",
        "committed_at": (now - timedelta(hours=5)).isoformat(),
        "started_at": (now - timedelta(minutes=10)).isoformat(),
        "pipeline_run": "build-881",
    }
    first = client.post("/api/v1/changes/record", json=body, headers=who)
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["key"] == "CR-2026-001" and made["state"] == "completed"
    assert made["model"] == "standard" and made["created"] is True
    assert made["commit_sha"] == "a1b2c3d4" and made["pipeline_run"] == "build-881"
    assert made["finished_at"].startswith("2026-11-02T09:00")
    assert made["approved_at"] == made["started_at"]
    before = row_counts(ready)
    again = client.post("/api/v1/changes/record", json=body, headers=who)
    assert again.status_code == 200 and again.json()["key"] == "CR-2026-001"
    assert again.json()["created"] is False and row_counts(ready) == before
    assert actions(ready, "CR-2026-001") == ["change.record"]
    # Another run of the same version is another deployment.
    other = client.post(
        "/api/v1/changes/record",
        json={**body, "pipeline_run": "build-882", "status": "failed", "reason": "smoke tests"},
        headers=who,
    )
    assert other.status_code == 201 and other.json()["state"] == "failed"
    assert other.json()["outcome_reason"] == "smoke tests"
    history = client.get("/api/v1/changes/CR-2026-001/history", headers=who).json()
    assert [h["after"] for h in history] == [
        "draft", "submitted", "approved", "in_progress", "completed",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service": "nowhere"}, "service"),
        ({"status": "rolled_back"}, "status"),
        ({"commit_sha": "not-hex"}, "commit"),
        ({"finished_at": "2027-01-01T00:00:00Z"}, "finished_at"),
        (
            {"started_at": "2026-11-02T08:00:00Z", "finished_at": "2026-11-02T07:00:00Z"},
            "started_at",
        ),
        (
            {"committed_at": "2026-11-02T08:59:00", "started_at": "2026-11-02T08:00:00Z"},
            "committed_at",
        ),
        ({"version": ""}, "version"),
    ],
)
def test_bad_records_name_the_field_and_write_nothing(
    client: TestClient,
    ready: Database,
    tokens: dict[Role, str],
    change: dict[str, str],
    field: str,
) -> None:
    before = row_counts(ready)
    body = {"service": "checkout", "version": "2.0.0", **change}
    answer = client.post(
        "/api/v1/changes/record", json=body, headers=bearer(tokens[Role.responder])
    )
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    assert row_counts(ready) == before


def test_viewers_may_not_record(
    client: TestClient, ready: Database, tokens: dict[Role, str]
) -> None:
    body = {"service": "checkout", "version": "2.0.0"}
    answer = client.post("/api/v1/changes/record", json=body, headers=bearer(tokens[Role.viewer]))
    assert answer.status_code == 403


def test_the_cli_records_and_a_retry_records_nothing(opsloop, ready: Database) -> None:  # type: ignore[no-untyped-def]
    args = (
        "change", "record", "--service", "checkout", "--version", "3.1.0",
        "--commit", "abcdef12", "--committed-at", "2026-11-01T20:00",
        "--started-at", "2026-11-02T08:40", "--finished-at", "2026-11-02T08:50",
        "--pipeline-run", "gh-77",
    )  # fmt: skip
    first = opsloop(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("CR-2026-001 completed: Deploy checkout 3.1.0 (recorded)")
    counts = row_counts(ready)
    second = opsloop(*args, "--json")
    assert second.returncode == 0
    shown = json.loads(second.stdout)
    assert shown["created"] is False and shown["committed_at"].startswith("2026-11-01T20:00")
    assert row_counts(ready) == counts
    bad = opsloop("change", "record", "--service", "nowhere", "--version", "1")
    assert "service" in assert_clean_failure(bad)
    assert row_counts(ready) == counts
