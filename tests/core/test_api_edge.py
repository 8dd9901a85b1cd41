"""The API's edge: every column limit, NUL bytes, lone surrogates, strict types, paging,
status codes and the 405 answer, on both databases; bad input is 422 and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opsloop.core.audit.models import AuditRecord
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.slo.models import SLO
from tests.helpers import bearer

SLO_BODY = {"service": "checkout", "name": "availability", "objective": 99.9}
POLICY = {"threshold": 1.0, "state": "monitor", "action": "ship"}


def _audit_count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)


BAD: list[tuple[str, str, Any, str | None]] = [
    # F-m1: NUL bytes (PostgreSQL cannot store them) in bodies, paths and queries.
    (
        "post",
        "/api/v1/users",
        {"username": "x", "role": "viewer", "display_name": "a\x00b"},
        "display_name",
    ),
    ("post", "/api/v1/tokens", {"role": "viewer", "name": "a\x00b"}, "name"),
    ("post", "/api/v1/slos/1/reset", {"reason": "a\x00b"}, "reason"),
    (
        "post",
        "/api/v1/events",
        {"events": [{"slo": "a\x00b", "timestamp": "2026-01-01T00:00:00Z", "good": 1, "total": 1}]},
        "events[0].slo",
    ),
    ("get", "/api/v1/audit?actor=a%00b", None, "actor"),
    ("get", "/api/v1/slos?service=a%00b", None, "service"),
    ("get", "/api/v1/services/a%00b/budget-state", None, "service"),
    ("patch", "/api/v1/users/a%00b", {"disabled": True}, "username"),
    # F-m2: lone surrogates (not encodable as UTF-8) in bodies.
    ("post", "/api/v1/slos", {**SLO_BODY, "description": "a\ud800b"}, "description"),
    ("post", "/api/v1/slos", {**SLO_BODY, "labels": {"team": "a\ud800b"}}, "labels.team"),
    (
        "put",
        "/api/v1/services/checkout/policy",
        {"tiers": [{**POLICY, "state": "a\ud800b"}]},
        "tiers[0].state",
    ),
    # Column lengths: owner VARCHAR(200), service VARCHAR(63), policy state VARCHAR(32).
    ("post", "/api/v1/slos", {**SLO_BODY, "owner": "o" * 201}, "owner"),
    ("post", "/api/v1/slos", {**SLO_BODY, "service": "s" * 64}, "service"),
    (
        "put",
        "/api/v1/services/checkout/policy",
        {"tiers": [{**POLICY, "state": "s" * 40}]},
        "tiers[0].state",
    ),
    ("put", "/api/v1/services/checkout/policy", {"tiers": []}, "tiers"),
    ("post", "/api/v1/tokens", {"role": "viewer", "name": "n" * 101}, "name"),
    # Integer ranges (int4) and malformed cursors.
    ("get", "/api/v1/audit?cursor=999999999999", None, "cursor"),
    ("get", "/api/v1/audit?cursor=", None, "cursor"),
    ("get", "/api/v1/users?cursor=zz", None, "cursor"),
    ("get", "/api/v1/tokens?limit=100000", None, "limit"),
    # Strict types where the schema says boolean, integer, number or date-time (ST201).
    ("post", "/api/v1/tokens", {"role": "viewer", "expires_in_days": True}, "expires_in_days"),
    ("patch", "/api/v1/users/responder", {"disabled": 0}, "disabled"),
    ("post", "/api/v1/slos", {**SLO_BODY, "objective": True}, "objective"),
    ("post", "/api/v1/slos", {**SLO_BODY, "objective": "99.9"}, "objective"),
    ("get", "/api/v1/audit?until=0.5", None, "until"),
    ("post", "/api/v1/events", {"events": []}, "events"),
    ("post", "/api/v1/users", {"username": "Bad Name", "role": "viewer"}, "username"),
    (
        "post",
        "/api/v1/users",
        {"username": "shortpw", "role": "viewer", "password": "short"},
        "password",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD)
def test_bad_input_is_422_and_changes_nothing(
    client: TestClient,
    tokens: dict[Role, str],
    db: Database,
    method: str,
    path: str,
    body: Any,
    field: str | None,
) -> None:
    before = _audit_count(db)
    kwargs: dict[str, Any] = {"headers": bearer(tokens[Role.admin])}
    if body is not None:
        # json.dumps escapes a lone surrogate as \ud800, as a client would send it
        kwargs["content"] = json.dumps(body)
        kwargs["headers"]["Content-Type"] = "application/json"
    response = client.request(method.upper(), path, **kwargs)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["field"] == field, error
    assert _audit_count(db) == before


def test_deeply_nested_yaml_is_refused(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    headers = {**bearer(tokens[Role.admin]), "Content-Type": "application/yaml"}
    response = client.post("/api/v1/slos/apply", content="[" * 5000, headers=headers)
    assert response.status_code == 422, response.text
    assert "nested deeper than" in response.json()["error"]["message"]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(SLO)) == 0


def test_json_syntax_error_names_line_and_column(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.post(
        "/api/v1/slos",
        content='{\n  "service": "a",\n  "name": ,\n}',
        headers={**bearer(tokens[Role.admin]), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"].startswith("line 3, column 11: invalid JSON"), error
    assert error["field"] is None


def test_unchanged_repost_is_200_creation_201(client: TestClient, tokens: dict[Role, str]) -> None:
    headers = bearer(tokens[Role.approver])
    first = client.post("/api/v1/slos", json=SLO_BODY, headers=headers)
    again = client.post("/api/v1/slos", json=SLO_BODY, headers=headers)
    assert (first.status_code, first.json()["outcome"]) == (201, "created")
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")


def test_every_list_pages_the_same_way(client: TestClient, tokens: dict[Role, str]) -> None:
    admin = bearer(tokens[Role.admin])
    for n in range(3):
        client.post("/api/v1/slos", json={**SLO_BODY, "name": f"s{n}"}, headers=admin)
    seen: list[int] = []
    url = "/api/v1/slos?limit=2"
    while url:
        page = client.get(url, headers=admin).json()
        seen += [item["id"] for item in page["items"]]
        url = f"/api/v1/slos?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert seen == [1, 2, 3]
    for path in [
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/audit",
        "/api/v1/slos/1/periods",
        "/api/v1/slos/1/alerts",
    ]:
        page = client.get(f"{path}?limit=1", headers=admin).json()
        assert set(page) == {"items", "next_cursor"}, path
        assert len(page["items"]) <= 1


def test_floats_have_no_binary_noise(client: TestClient, tokens: dict[Role, str]) -> None:
    admin = bearer(tokens[Role.admin])
    client.post("/api/v1/slos", json={**SLO_BODY, "objective": 0.1 + 0.2 + 99}, headers=admin)
    assert '"objective":99.3,' in client.get("/api/v1/slos/1", headers=admin).text


def test_405_and_options_list_every_method(client: TestClient, tokens: dict[Role, str]) -> None:
    admin = bearer(tokens[Role.admin])
    options = client.options("/api/v1/slos", headers=admin)
    assert options.status_code == 204 and options.headers["allow"] == "GET, OPTIONS, POST"
    for method, path in [("DELETE", "/api/v1/slos/rules"), ("GET", "/api/v1/slos/apply")]:
        response = client.request(method, path, headers=admin)
        assert response.status_code == 405, (method, path, response.text)
    put = client.put("/api/v1/tokens", headers=admin)
    assert put.status_code == 405 and put.headers["allow"] == "GET, OPTIONS, POST"


def test_another_users_token_looks_missing(client: TestClient, tokens: dict[Role, str]) -> None:
    mine = client.post(
        "/api/v1/tokens", json={"role": "viewer"}, headers=bearer(tokens[Role.admin])
    )
    token_id = mine.json()["id"]
    other = client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(tokens[Role.viewer]))
    missing = client.delete("/api/v1/tokens/99999", headers=bearer(tokens[Role.viewer]))
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
