"""The compliance report through the CLI (exit 1 when a change broke a rule, 0 otherwise),
the API and the page: approvals missing at the start, emergency changes approved late, gate
overrides, windows not kept, and the stricter options. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.changes import recording
from opsloop.changes.models import Change
from opsloop.changes.rules import ChangeModel, RiskLevel
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.changes.helpers import ADMIN, BOB, CAROL, act, make_people, make_service, raise_change
from tests.cli_run import Invoked, invoke
from tests.helpers import bearer
from tests.web.pages import sign_in


@pytest.fixture
def opsloop(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database):  # type: ignore[no-untyped-def]
    def run(*args: str, **env: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args, **env)

    return run


def _run_in_window(
    db: Database, frozen: clock.FrozenClock, key: str, *, late: bool = False
) -> None:
    """Schedule ``key`` an hour ahead for an hour, start it in the window and finish it there
    (or, ``late``, half an hour after the window closed)."""
    act(db, "schedule", key, start=clock.now() + timedelta(hours=1), duration=timedelta(hours=1))
    frozen.current += timedelta(hours=1, minutes=10)
    act(db, "start", key)
    frozen.current += timedelta(minutes=80 if late else 20)
    act(db, "complete", key)


@pytest.fixture
def history(db: Database, at_now: clock.FrozenClock) -> clock.FrozenClock:
    """CR-001 compliant; CR-002 finished after its window; CR-003 started before its window;
    CR-004 emergency never approved; CR-005 gate overridden; CR-006 a recorded deployment;
    CR-007 high risk with the two approvals the default policy asks for."""
    make_service(db, "checkout")
    make_people(db)
    for _ in range(3):
        raise_change(db)
    for key in ("CR-2026-001", "CR-2026-002", "CR-2026-003"):
        act(db, "approve", key, who=BOB)
    _run_in_window(db, at_now, "CR-2026-001")
    _run_in_window(db, at_now, "CR-2026-002", late=True)
    act(
        db,
        "schedule",
        "CR-2026-003",
        start=clock.now() + timedelta(hours=5),
        duration=timedelta(hours=1),
    )
    act(db, "start", "CR-2026-003")
    raise_change(db, model=ChangeModel.emergency, title="Hotfix")
    act(db, "start", "CR-2026-004")
    raise_change(db, title="Override")
    act(db, "approve", "CR-2026-005", who=BOB)
    _run_in_window(db, at_now, "CR-2026-005")
    with db.write() as session:
        row = session.query(Change).filter_by(key="CR-2026-005").one()
        row.gate_override_by, row.gate_override_reason = "root", "security fix"
        row.gate_override_at = row.started_at
    with db.write() as session:
        recording.record_deployment(session, principal=ADMIN, service="checkout", version="9")
    raise_change(db, title="Risky", risk=RiskLevel.high)
    act(db, "approve", "CR-2026-007", who=BOB)
    act(db, "approve", "CR-2026-007", who=CAROL)
    _run_in_window(db, at_now, "CR-2026-007")
    at_now.current += timedelta(hours=30)  # the emergency change's 24 hours are over
    return at_now


def test_cli_lists_each_broken_rule_and_exits_1(opsloop, history: clock.FrozenClock) -> None:  # type: ignore[no-untyped-def]
    found = opsloop("change", "compliance", "--since", "30d")
    assert found.returncode == 1, found.stderr
    out = found.stdout
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("CR-")]
    assert listed == ["CR-2026-002", "CR-2026-003", "CR-2026-004", "CR-2026-005"]
    assert "after its window closed" in out and "before its window opened" in out
    assert "not approved within 24 hours of its start (never approved)" in out
    assert "overridden by root (security fix)" in out
    strict = opsloop(
        "change", "compliance", "--since", "30d", "--require-cab-approval",
        "--require-rollback-plan", "--json",
    )  # fmt: skip
    assert strict.returncode == 1

    reasons = {f["key"]: f["reasons"] for f in json.loads(strict.stdout)}
    assert reasons["CR-2026-006"] == [
        "approval: standard change with no CAB approval (pre-approved only)",
        "rollback plan: none recorded",
    ]
    # A policy asking three approvals of high-risk changes finds CR-007 started with two.
    stricter = opsloop("change", "compliance", "--json", OPSLOOP_CHANGE_APPROVALS='{"high": 3}')
    by_key = {f["key"]: f["reasons"] for f in json.loads(stricter.stdout)}
    assert by_key["CR-2026-007"] == [
        "approval: started with 2 of the 3 approvals a high-risk change needs"
    ]
    clean = opsloop("change", "compliance", "--since", "2026-10-01", "--until", "2026-11-01")
    assert clean.returncode == 0 and "was compliant" in clean.stdout
    bad = opsloop("change", "compliance", "--since", "yesterday")
    assert bad.returncode == 2 and bad.stderr.startswith("error: since:")


def test_api_and_page_show_the_same_findings(
    client: TestClient, history: clock.FrozenClock, tokens: dict[Role, str]
) -> None:
    who = bearer(tokens[Role.viewer])
    answer = client.get("/api/v1/changes/compliance?since=30d", headers=who)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["compliant"] is False
    assert [f["key"] for f in body["findings"]] == [
        "CR-2026-002", "CR-2026-003", "CR-2026-004", "CR-2026-005",
    ]  # fmt: skip
    assert client.get("/api/v1/changes/compliance?since=nope", headers=who).status_code == 422
    sign_in(client, "viewer")
    page = client.get("/changes/compliance?since=30d&require_cab_approval=true")
    assert page.status_code == 200
    assert page.text.count('data-testid="finding"') == 5
    assert "CR-2026-006" in page.text
    refused = client.get("/changes/compliance?since=nope")
    assert refused.status_code == 422 and 'data-field="since"' in refused.text
