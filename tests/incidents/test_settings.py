"""OPSLOOP_INCIDENT_RESPONSE_TARGETS: read as JSON minutes per severity, refused naming the
setting when wrong, and used by the API's response states. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsloop.app import create_app
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings, load_settings
from opsloop.core.db import Database
from opsloop.core.errors import ConfigError
from tests.helpers import bearer


def test_targets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSLOOP_INCIDENT_RESPONSE_TARGETS", '{"sev1": 10, "SEV3": 60}')
    assert load_settings().incident_response_targets == {"SEV1": 10, "SEV3": 60}
    for bad in ('{"SEV7": 10}', '{"SEV1": 0}', '{"SEV1": "soon"}', "[1]"):
        monkeypatch.setenv("OPSLOOP_INCIDENT_RESPONSE_TARGETS", bad)
        with pytest.raises(ConfigError) as caught:
            load_settings()
        assert "OPSLOOP_INCIDENT_RESPONSE_TARGETS" in caught.value.message


def test_the_api_measures_by_the_configured_target(
    db: Database, tmp_path: Path, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    settings = Settings(
        database_url=db.url,
        data_dir=tmp_path / "data",
        scheduler_enabled=False,
        incident_response_targets={"SEV2": 5},
    )
    with TestClient(create_app(settings, db)) as client:
        headers = bearer(tokens[Role.responder])
        found = client.post(
            "/api/v1/incidents", json={"title": "x", "severity": "SEV2"}, headers=headers
        ).json()
        assert found["response"]["target_minutes"] == 5
        frozen_clock.advance(timedelta(minutes=6))
        shown = client.get(f"/api/v1/incidents/{found['key']}", headers=headers).json()
        assert shown["response"]["state"] == "overdue"
