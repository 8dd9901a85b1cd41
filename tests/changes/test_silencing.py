"""Silencing a service's alerts while a change runs: asked for before the start (API, CLI,
page), made in Alertmanager at the start and expired at the finish; without Alertmanager the
change goes on with a warning. SQLite and PostgreSQL; the real Alertmanager test runs
Debian's prometheus-alertmanager."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from opsloop.changes import silencing
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.core.errors import Conflict, ValidationFailed
from tests.alerts import alertmanager_server
from tests.changes.helpers import ALICE, BOB, act, make_people, make_service, raise_change
from tests.cli_run import assert_clean_failure, invoke
from tests.helpers import bearer
from tests.web.pages import sign_in


@pytest.fixture
def ready(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.delenv("OPSLOOP_ALERTMANAGER_URL", raising=False)
    make_service(db, "checkout")
    make_people(db)
    return db


def _approved(db: Database) -> str:
    key = raise_change(db).key
    act(db, "approve", key, BOB)
    act(db, "schedule", key, start=clock.now() + timedelta(minutes=5), duration=timedelta(hours=1))
    return key


def _set(db: Database, key: str, enabled: bool, matchers: list[str] | None = None) -> Any:
    with db.write() as session:
        return silencing.set_silence(
            session, principal=ALICE, key=key, enabled=enabled, matchers=matchers
        )


def test_without_alertmanager_the_change_starts_with_a_warning(ready: Database) -> None:
    key = _approved(ready)
    found = _set(ready, key, True)
    assert found.matchers == ('service="checkout"',)
    started = act(ready, "start", key)
    assert any("alerts not silenced" in w for w in started.warnings)
    assert any(w.kind == "silence" for w in started.change.warnings)
    with ready.read() as session:
        assert silencing.settings_of(session, key=key).silence_id is None
    with pytest.raises(Conflict):
        _set(ready, key, False)
    assert act(ready, "complete", key).change.state.value == "completed"


def test_matchers_are_checked(ready: Database) -> None:
    key = _approved(ready)
    with pytest.raises(ValidationFailed) as refused:
        _set(ready, key, True, ["service=~"])
    assert refused.value.field == "matchers"
    assert _set(ready, key, True, ['{service="checkout", severity="low"}']).matchers == (
        'service="checkout"',
        'severity="low"',
    )


def test_api_cli_and_page(
    ready: Database,
    client: TestClient,
    tokens: dict[Role, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = _approved(ready)
    url = f"/api/v1/changes/{key}/silence"
    writer = bearer(tokens[Role.responder])
    assert client.get(url, headers=writer).json()["silence_alerts"] is False
    put = client.put(url, json={"silence_alerts": True}, headers=writer)
    assert put.status_code == 200 and put.json()["matchers"] == ['service="checkout"']
    bad = client.put(url, json={"silence_alerts": True, "matchers": ["=="]}, headers=writer)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "matchers"
    assert (
        client.put(
            url, json={"silence_alerts": True}, headers=bearer(tokens[Role.viewer])
        ).status_code
        == 403
    )

    off = invoke(capsys, monkeypatch, ready, "change", "silence", key, "--off", "--json")
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout)["silence_alerts"] is False
    assert_clean_failure(
        invoke(capsys, monkeypatch, ready, "change", "silence", key, "--matcher", "==")
    )

    csrf = sign_in(client, "responder")
    page = client.get(f"/changes/{key}")
    assert 'data-testid="silence-form"' in page.text
    saved = client.post(
        f"/changes/{key}/silence",
        data={"csrf_token": csrf, "silence_alerts": "1", "matchers": 'service="checkout"'},
    )
    assert saved.status_code == 200 and "Silenced in Alertmanager" in saved.text


@pytest.fixture
def alertmanager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if alertmanager_server.missing():
        pytest.skip(str(alertmanager_server.missing()))
    with alertmanager_server.running_alertmanager(tmp_path, "http://127.0.0.1:9/hook", "x") as base:
        monkeypatch.setenv("OPSLOOP_ALERTMANAGER_URL", base)
        yield base


def test_the_window_is_silenced_in_alertmanager_and_the_silence_expired(
    ready: Database, alertmanager: str
) -> None:
    key = _approved(ready)
    _set(ready, key, True)
    started = act(ready, "start", key)
    assert started.warnings == ()
    with ready.read() as session:
        silence_id = silencing.settings_of(session, key=key).silence_id
        from opsloop.alerts import silences

        made = silences.get_silence(session, silence_id=silence_id)
    assert made.matchers == ['service="checkout"'] and key in made.comment
    assert made.ends_at == started.change.window_end
    listed = httpx.get(f"{alertmanager}/api/v2/silences", timeout=10).json()
    seen = {s["id"]: s for s in listed}[made.alertmanager_id]
    assert seen["status"]["state"] == "active"
    act(ready, "complete", key)
    listed = httpx.get(f"{alertmanager}/api/v2/silences", timeout=10).json()
    assert {s["id"]: s for s in listed}[made.alertmanager_id]["status"]["state"] == "expired"
