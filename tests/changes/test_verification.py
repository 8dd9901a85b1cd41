"""Verification of a completed change: pushed SLO events in the hour before the window and
the hour after completion, at chosen times under the frozen clock, give pass, fail (a rollback
proposed: a warning and an outbox event) or inconclusive. By hand (service, API, CLI) and by
the scheduler's job, which verifies each change once. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opsloop.changes import jobs, verification
from opsloop.changes.verification_models import ChangeVerification
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.errors import Conflict
from opsloop.slo.sli_ranges import error_ratios_between
from tests.changes.helpers import ALICE, actions, make_people, make_service, raise_change
from tests.changes.impact_helpers import (
    make_slo,
    outbox,
    push_minutes,
    run_change,
    subscribe_all,
)
from tests.cli_run import assert_clean_failure, invoke
from tests.helpers import bearer
from tests.web.pages import sign_in

HOUR = timedelta(hours=1)


@pytest.fixture
def ready(db: Database, at_now: clock.FrozenClock, tmp_path: Path) -> Database:
    make_service(db, "checkout")
    make_people(db)
    subscribe_all(db, tmp_path)
    return db


def _verify(db: Database, key: str) -> verification.VerificationView:
    with db.write() as session:
        return verification.verify(session, principal=ALICE, key=key)


def _rows(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(ChangeVerification)) or 0)


def test_the_sli_of_any_range_comes_from_the_event_sums(
    ready: Database, at_now: clock.FrozenClock
) -> None:
    slo_id = make_slo(ready)
    start = clock.now() - 2 * HOUR
    push_minutes(ready, slo_id, start, 60, errors=10)  # 0.1 %
    push_minutes(ready, slo_id, start + HOUR, 30, errors=50)  # 0.5 %
    with ready.read() as session:
        first = error_ratios_between(session, service="checkout", start=start, end=start + HOUR)
        both = error_ratios_between(
            session, service="checkout", start=start + 30 * verification.HOUR / 60,
            end=start + 90 * verification.HOUR / 60,
        )  # fmt: skip
        empty = error_ratios_between(
            session, service="checkout", start=start + 2 * HOUR, end=start + 3 * HOUR
        )
    assert first[0].error_ratio == pytest.approx(0.001)
    # 30 minutes at 10 and 30 at 50 errors in 10,000 each: 1,800 of 600,000.
    assert both[0].error_ratio == pytest.approx(0.003)
    assert empty[0].error_ratio is None and "no events" in empty[0].no_data


def test_a_change_that_keeps_errors_level_passes(
    ready: Database, at_now: clock.FrozenClock
) -> None:
    slo_id = make_slo(ready)
    before_start = clock.now()  # the window starts an hour from now
    key = run_change(ready, at_now)
    push_minutes(ready, slo_id, before_start, 60, errors=5)  # 0.05 %
    push_minutes(ready, slo_id, clock.now(), 60, errors=6)  # 0.06 %: under the 0.2 % floor
    at_now.advance(HOUR)
    found = _verify(ready, key)
    assert found.verdict == "pass" and not found.rollback_proposed
    [check] = found.checks
    assert check.before == pytest.approx(0.0005) and check.after == pytest.approx(0.0006)
    assert check.burn_before == pytest.approx(0.5) and check.burn_after == pytest.approx(0.6)
    assert found.before_end == before_start + HOUR
    assert outbox(ready, "change.verification_failed") == 0
    assert "change.verify" in actions(ready, key)


def test_a_change_that_raises_errors_fails_and_proposes_a_rollback(
    ready: Database, at_now: clock.FrozenClock
) -> None:
    slo_id = make_slo(ready)
    push_minutes(ready, slo_id, clock.now(), 60, errors=5)
    key = run_change(ready, at_now)
    push_minutes(ready, slo_id, clock.now(), 60, errors=100)  # 1 %: burning 10x
    at_now.advance(HOUR)
    found = _verify(ready, key)
    assert found.verdict == "fail" and found.rollback_proposed
    assert found.checks[0].burn_after == pytest.approx(10.0)
    assert outbox(ready, "change.verification_failed") == 1
    with ready.read() as session:
        from opsloop.changes import service as changes

        change = changes.get_change(session, key=key)
    assert any(w.kind == "verification" and "rolling it back" in w.text for w in change.warnings)


def test_no_events_after_the_change_is_inconclusive(
    ready: Database, at_now: clock.FrozenClock
) -> None:
    slo_id = make_slo(ready)
    push_minutes(ready, slo_id, clock.now(), 60, errors=5)
    key = run_change(ready, at_now)
    at_now.advance(HOUR)
    found = _verify(ready, key)
    assert found.verdict == "inconclusive"
    assert "no events after the change" in found.checks[0].reason


def test_only_a_completed_change_is_verified(ready: Database, at_now: clock.FrozenClock) -> None:
    key = raise_change(ready).key
    with pytest.raises(Conflict, match="only a completed change"):
        _verify(ready, key)
    assert _rows(ready) == 0


def test_the_job_verifies_each_change_once_an_hour_after_it_finished(
    ready: Database, at_now: clock.FrozenClock, settings: Settings
) -> None:
    slo_id = make_slo(ready)
    push_minutes(ready, slo_id, clock.now(), 60, errors=5)
    key = run_change(ready, at_now)
    push_minutes(ready, slo_id, clock.now(), 60, errors=100)
    at_now.advance(timedelta(minutes=59))
    assert jobs.run_verifications(ready, settings, clock.now()) == []
    at_now.advance(timedelta(minutes=1))
    assert jobs.run_verifications(ready, settings, clock.now()) == [key]
    assert jobs.run_verifications(ready, settings, clock.now()) == []
    assert _rows(ready) == 1
    assert outbox(ready, "change.verification_failed") == 1
    # By hand it may be run again: a new record each time, the latest shown.
    assert _verify(ready, key).verdict == "fail"
    assert _rows(ready) == 2


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_concurrent_runs_claim_a_change_once(ready: Database, at_now: clock.FrozenClock) -> None:
    keys = [run_change(ready, at_now) for _ in range(3)]
    at_now.advance(HOUR)
    barrier = threading.Barrier(4)
    claimed: list[list[str]] = []

    def run() -> None:
        now = clock.now()
        # Not audited, as the job's claim is not: only the conditional UPDATE keeps two runs
        # that listed the same changes from both claiming them.
        with ready.write(audited=False) as session:
            due = verification.due(session, now=now)
            barrier.wait()
            found = []
            for change_id in due:
                if verification.claim(session, change_id=change_id, now=now):
                    found.append(change_id)
            claimed.append([str(i) for i in found])

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(i for ids in claimed for i in ids) == sorted(
        str(i) for i in range(1, len(keys) + 1)
    )


def test_verify_through_the_api_and_the_cli(
    ready: Database,
    at_now: clock.FrozenClock,
    client: TestClient,
    tokens: dict[Role, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slo_id = make_slo(ready)
    push_minutes(ready, slo_id, clock.now(), 60, errors=5)
    key = run_change(ready, at_now)
    push_minutes(ready, slo_id, clock.now(), 60, errors=6)
    at_now.advance(HOUR)
    viewer = bearer(tokens[Role.viewer])
    assert (
        client.get(f"/api/v1/changes/{key}/verification", headers=viewer).json()["verdict"] is None
    )
    assert client.post(f"/api/v1/changes/{key}/verify", headers=viewer).status_code == 403
    answered = client.post(f"/api/v1/changes/{key}/verify", headers=bearer(tokens[Role.responder]))
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["verdict"] == "pass" and body["slos"][0]["slo_ref"] == "checkout/availability"
    assert body["slos"][0]["before"] == pytest.approx(0.0005)
    shown = client.get(f"/api/v1/changes/{key}/verification", headers=viewer).json()
    assert shown["verdict"] == "pass"
    missing = client.post(
        "/api/v1/changes/CR-2026-999/verify", headers=bearer(tokens[Role.responder])
    )
    assert missing.status_code == 404

    ran = invoke(capsys, monkeypatch, ready, "change", "verify", key, "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["verdict"] == "pass"
    printed = invoke(capsys, monkeypatch, ready, "change", "verify", key)
    assert "checkout/availability: pass" in printed.stdout
    other = raise_change(ready).key
    assert_clean_failure(invoke(capsys, monkeypatch, ready, "change", "verify", other))


def test_the_change_page_verifies_and_shows_the_rollback_proposal(
    ready: Database, at_now: clock.FrozenClock, client: TestClient, tokens: dict[Role, str]
) -> None:
    slo_id = make_slo(ready)
    push_minutes(ready, slo_id, clock.now(), 60, errors=5)
    key = run_change(ready, at_now)
    push_minutes(ready, slo_id, clock.now(), 60, errors=100)
    at_now.advance(HOUR)
    sign_in(client, "viewer")
    page = client.get(f"/changes/{key}")
    assert "Not verified yet" in page.text and 'data-testid="verify"' not in page.text
    csrf = sign_in(client, "responder")
    assert 'data-testid="verify"' in client.get(f"/changes/{key}").text
    verified = client.post(f"/changes/{key}/verify", data={"csrf_token": csrf})
    assert verified.status_code == 200
    assert 'data-testid="verification-verdict">fail' in verified.text
    assert 'data-testid="rollback-proposed"' in verified.text
    assert verified.text.count('data-testid="verification-slo"') == 1
    other = raise_change(ready).key
    refused = client.post(f"/changes/{other}/verify", data={"csrf_token": csrf})
    assert refused.status_code == 409 and "only a completed change" in refused.text
