"""Property-based fuzzing of the whole API from its own OpenAPI document, with every
schemathesis check: no 500, only documented statuses and content types, responses that match
their schemas, invalid data rejected, valid data accepted, 405 with Allow."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opsloop.core.db import Database
from tests.helpers import BIN, running_server

pytestmark = pytest.mark.slow

# positive_data_acceptance sends data the schema allows and expects a 2xx. These operations
# also check rules that JSON Schema cannot state (good <= total, a timestamp inside the SLO's
# window, an existing IANA time zone, a rolling window longer than the longest alert window,
# policy tiers in descending threshold order, a referenced SLO, user or team that exists, an
# objective that is stored exactly, a non-empty spec, since <= until, a notification target or
# secret), so a schema-valid request can rightly be 422 there. Every other check still runs on
# them.
SEMANTIC_422 = [
    "GET /api/v1/audit",
    "POST /api/v1/slos",
    "POST /api/v1/slos/apply",
    "POST /api/v1/events",
    "POST /api/v1/slos/{slo_id}/events",
    "POST /api/v1/slos/{slo_id}/reset",
    "PUT /api/v1/services/{service}/policy",
    "POST /api/v1/tokens",
    # An existing owner team or member user, http(s) links, an email address, a name free.
    "POST /api/v1/services",
    "POST /api/v1/services/apply",
    "PATCH /api/v1/services/{service}",
    "POST /api/v1/teams",
    "PATCH /api/v1/teams/{team}",
    "POST /api/v1/teams/{team}/members",
    # A target that parses and resolves to an allowed address, a whsec_ secret with enough
    # bytes, event types that are registered, a notification that is dead or delivered.
    "POST /api/v1/notifications/channels",
    "PATCH /api/v1/notifications/channels/{channel_id}",
    "POST /api/v1/notifications/channels/{channel_id}/rotate-secret",
    "POST /api/v1/notifications/subscriptions",
    "POST /api/v1/notifications/outbox/{entry_id}/resend",
    # A known severity, status, template name and placeholders; services, SLOs and users that
    # exist; times in order and not in the future.
    "POST /api/v1/incidents",
    "GET /api/v1/incidents",
    "PATCH /api/v1/incidents/{key}",
    "POST /api/v1/incidents/{key}/timeline",
    "POST /api/v1/incidents/{key}/updates",
    "PUT /api/v1/incident-templates",
    # An incident, owner user or team that exists, a due date not before the incident, a
    # reason to drop an item, a known status and priority.
    "POST /api/v1/pirs/{key}/action-items",
    "GET /api/v1/action-items",
    "PATCH /api/v1/action-items/{item_id}",
    # Matchers in Alertmanager's syntax, a known severity, a position within the rules; a
    # silence needs Alertmanager (not configured here: 409) and one not yet ended.
    "POST /api/v1/alerts/routes",
    "PATCH /api/v1/alerts/routes/{rule_id}",
    "POST /api/v1/alerts/silences",
    "POST /api/v1/alerts/silences/{silence_id}/expire",
    # A service of the catalog, a known category, a rollback plan unless standard, users that
    # exist, since <= until; a freeze that ends after it starts and is not over.
    "POST /api/v1/changes",
    "GET /api/v1/changes",
    "PATCH /api/v1/changes/{key}",
    "POST /api/v1/freezes",
    # Rows of a known shape, in the catalog, in time order; a period that ends after it starts.
    "POST /api/v1/incidents/import",
    "GET /api/v1/reliability",
]


def _config(path: Path) -> Path:
    lines = []
    for operation in SEMANTIC_422:
        method, route = operation.split(" ", 1)
        lines += [
            "[[operations]]",
            f'include-method = "{method}"',
            f'include-path = "{route}"',
            'checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404",'
            ' "409", "422"]',
            "",
        ]
    config = path / "schemathesis.toml"
    config.write_text("\n".join(lines))
    return config


def test_api_conforms_to_its_openapi_document(db: Database, tmp_path: Path) -> None:
    with running_server(
        tmp_path,
        OPSLOOP_DATABASE_URL=db.url,
        OPSLOOP_ADMIN_PASSWORD="fuzzing-admin-pw",
        OPSLOOP_LOG_LEVEL="warning",
        OPSLOOP_SCHEDULER_ENABLED="false",
    ) as (base, env):
        token = subprocess.run(
            [BIN / "opsloop", "token", "create", "--user", "admin", "--role", "admin"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # Revoking tokens is fuzzed last and alone: run with the rest, it revokes the fuzzer's
        # own token (a small id) and leaves every later request at 401.
        revoke = "DELETE /api/v1/tokens/{token_id}"
        for only in (["--exclude-name", revoke], ["--include-name", revoke]):
            _schemathesis(base, token, env, tmp_path, only)


def _schemathesis(
    base: str, token: str, env: dict[str, str], tmp_path: Path, only: list[str]
) -> None:
    hooks = Path(__file__).with_name("fuzz_hooks.py")
    result = subprocess.run(
        [
            BIN / "schemathesis",
            "--config-file",
            str(_config(tmp_path)),
            "run",
            f"{base}/api/openapi.json",
            *only,
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--max-examples",
            "5",
            "--seed",
            "20261125",
            "--no-color",
            # The stateful phase chains calls freely and would revoke the fuzzer's own token.
            "--phases",
            "examples,coverage,fuzzing",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**env, "SCHEMATHESIS_HOOKS": str(hooks)},
        cwd=tmp_path,
    )
    assert result.returncode == 0, (
        result.stdout[-12000:] + (tmp_path / "server.log").read_text()[-4000:]
    )
