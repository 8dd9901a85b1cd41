"""Tokens and roles at the API boundary, and the one error shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.helpers import bearer, make_token


def audit_count(db: Database) -> int:
    with db.read() as session:
        return audit.count(session)


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field
    return body["error"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_need_no_token(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_no_token_is_401_with_challenge(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    ["Bearer opl_not-a-real-token", "Bearer nonsense", "Basic YWRtaW46YWRtaW4=", "Bearer "],
)
def test_bad_tokens_are_401(client: TestClient, tokens: dict[Role, str], header: str) -> None:
    assert_error(client.get("/api/v1/me", headers={"Authorization": header}), 401, "unauthorized")


def test_token_identifies_user_and_role(client: TestClient, tokens: dict[Role, str]) -> None:
    response = client.get("/api/v1/me", headers=bearer(tokens[Role.responder]))
    assert response.json() == {"username": "responder", "role": "responder"}


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.viewer, 403), (Role.responder, 403), (Role.approver, 200), (Role.admin, 200)],
)
def test_audit_needs_approver(
    client: TestClient, tokens: dict[Role, str], role: Role, status: int
) -> None:
    response = client.get("/api/v1/audit", headers=bearer(tokens[role]))
    assert response.status_code == status
    if status == 403:
        assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("role", [Role.viewer, Role.responder, Role.approver])
def test_user_admin_needs_admin(client: TestClient, tokens: dict[Role, str], role: Role) -> None:
    assert_error(client.get("/api/v1/users", headers=bearer(tokens[role])), 403, "forbidden")
    response = client.post(
        "/api/v1/users", json={"username": "eve", "role": "admin"}, headers=bearer(tokens[role])
    )
    assert_error(response, 403, "forbidden")


def test_revoked_token_stops_working(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    admin = bearer(tokens[Role.admin])
    created = client.post("/api/v1/tokens", json={"role": "viewer"}, headers=admin)
    assert created.status_code == 201
    secret, token_id = created.json()["token"], created.json()["id"]
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=admin).status_code == 200
    assert_error(client.get("/api/v1/me", headers=bearer(secret)), 401, "unauthorized")
    with db.read() as session:
        actions = [r.action for r in audit.iterate(session, flt=audit.AuditFilter(actor="admin"))]
    assert actions == ["token.create", "token.revoke"]


def test_expired_token_stops_working(
    client: TestClient, tokens: dict[Role, str], frozen_clock: clock.FrozenClock
) -> None:
    created = client.post(
        "/api/v1/tokens",
        json={"role": "viewer", "expires_in_days": 1},
        headers=bearer(tokens[Role.viewer]),
    )
    secret = created.json()["token"]
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    frozen_clock.advance(timedelta(days=1, seconds=1))
    assert_error(client.get("/api/v1/me", headers=bearer(secret)), 401, "unauthorized")


def test_token_cannot_grant_more_than_its_user(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    weaker = make_token(db, "responder", Role.viewer)
    before = audit_count(db)
    response = client.post(
        "/api/v1/tokens",
        json={"user": "viewer", "role": "admin"},
        headers=bearer(tokens[Role.admin]),
    )
    assert_error(response, 422, "validation_error", "role")
    # More than the user has: the value asked for is wrong, whoever asks.
    response = client.post(
        "/api/v1/tokens", json={"role": "admin"}, headers=bearer(tokens[Role.responder])
    )
    assert_error(response, 422, "validation_error", "role")
    # Within the user's role but above the token in use: the caller lacks the permission.
    response = client.post("/api/v1/tokens", json={"role": "responder"}, headers=bearer(weaker))
    assert_error(response, 403, "forbidden")
    assert audit_count(db) == before


def test_demoted_user_keeps_only_the_lower_role(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    admin = bearer(tokens[Role.admin])
    response = client.patch("/api/v1/users/approver", json={"role": "viewer"}, headers=admin)
    assert response.status_code == 200 and response.json()["role"] == "viewer"
    me = client.get("/api/v1/me", headers=bearer(tokens[Role.approver])).json()
    assert me["role"] == "viewer"
    assert client.get("/api/v1/audit", headers=bearer(tokens[Role.approver])).status_code == 403


def test_disabled_user_tokens_stop_working(client: TestClient, tokens: dict[Role, str]) -> None:
    admin = bearer(tokens[Role.admin])
    assert client.patch("/api/v1/users/viewer", json={"disabled": True}, headers=admin).is_success
    assert_error(client.get("/api/v1/me", headers=bearer(tokens[Role.viewer])), 401, "unauthorized")


def test_create_user_is_audited_with_actor(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    response = client.post(
        "/api/v1/users",
        json={"username": "dave", "role": "responder", "display_name": "Dave"},
        headers={**bearer(tokens[Role.admin]), "X-Request-ID": "req-abc"},
    )
    assert response.status_code == 201
    server_id = response.headers["x-request-id"]
    assert len(server_id) == 32
    with db.read() as session:
        rows, _ = audit.page(session, flt=audit.AuditFilter(action="user.create", actor="admin"))
    assert len(rows) == 1
    assert (rows[0].request_id, rows[0].client_request_id) == (server_id, "req-abc")
    assert audit.to_dict(rows[0])["changes"]["role"] == {"before": None, "after": "responder"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "x"}, "role"),
        ({"username": "x", "role": "overlord"}, "role"),
        ({"username": "Bad Name", "role": "viewer"}, "username"),
        ({"username": "", "role": "viewer"}, "username"),
        ({"username": "x", "role": "viewer", "password": "short"}, "password"),
        ({"username": "x", "role": "viewer", "shoe_size": 44}, "shoe_size"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, tokens: dict[Role, str], db: Database, body: dict, field: str
) -> None:
    before = audit_count(db)
    response = client.post("/api/v1/users", json=body, headers=bearer(tokens[Role.admin]))
    assert_error(response, 422, "validation_error", field)
    assert audit_count(db) == before


def test_malformed_json_is_422_not_500(client: TestClient, tokens: dict[Role, str]) -> None:
    response = client.post(
        "/api/v1/users",
        content=b"{not json",
        headers={**bearer(tokens[Role.admin]), "Content-Type": "application/json"},
    )
    assert_error(response, 422, "validation_error")


def test_duplicate_is_409(client: TestClient, tokens: dict[Role, str], db: Database) -> None:
    before = audit_count(db)
    response = client.post(
        "/api/v1/users",
        json={"username": "viewer", "role": "viewer"},
        headers=bearer(tokens[Role.admin]),
    )
    assert_error(response, 409, "conflict", "username")
    assert audit_count(db) == before


def test_unknown_ids_are_404(client: TestClient, tokens: dict[Role, str]) -> None:
    admin = bearer(tokens[Role.admin])
    assert_error(client.patch("/api/v1/users/nobody", json={}, headers=admin), 404, "not_found")
    assert_error(client.delete("/api/v1/tokens/99999", headers=admin), 404, "not_found")
    assert_error(client.get("/api/v1/nothing-here", headers=admin), 404, "not_found")


def test_a_path_that_is_no_id_is_not_found(client: TestClient, tokens: dict[Role, str]) -> None:
    response = client.delete("/api/v1/tokens/abc", headers=bearer(tokens[Role.admin]))
    assert_error(response, 404, "not_found")


def test_audit_api_filters_and_pages(client: TestClient, tokens: dict[Role, str]) -> None:
    admin = bearer(tokens[Role.admin])
    for n in range(5):
        client.post("/api/v1/users", json={"username": f"u{n}", "role": "viewer"}, headers=admin)
    page1 = client.get("/api/v1/audit?actor=admin&limit=3", headers=admin).json()
    assert [r["entity_type"] for r in page1["items"]] == ["user"] * 3
    assert page1["items"][0]["changes"]["username"] == {"before": None, "after": "u0"}
    assert page1["next_cursor"] is not None
    page2 = client.get(
        f"/api/v1/audit?actor=admin&limit=3&cursor={page1['next_cursor']}", headers=admin
    ).json()
    assert len(page2["items"]) == 2 and page2["next_cursor"] is None
    seqs = [r["seq"] for r in page1["items"] + page2["items"]]
    assert seqs == sorted(seqs)
    assert client.get("/api/v1/audit/verify", headers=admin).json()["ok"] is True


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=xyz", "cursor"),
        ("since=yesterday", "since"),
        ("since=2026-01-01T00:00:00", "since"),
        ("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "since"),
    ],
)
def test_audit_api_rejects_bad_filters(
    client: TestClient, tokens: dict[Role, str], query: str, field: str
) -> None:
    response = client.get(f"/api/v1/audit?{query}", headers=bearer(tokens[Role.admin]))
    assert_error(response, 422, "validation_error", field)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/slos/99999999999999999999999", None),
        ("get", "/api/v1/slos/2147483648", None),
        ("delete", "/api/v1/tokens/99999999999999999999", None),
        ("get", "/api/v1/audit?cursor=%C2%B9", None),
        ("get", "/api/v1/audit?cursor=99999999999999999999999", None),
        (
            "post",
            "/api/v1/events",
            {"events": [{"slo": "¹", "timestamp": "2026-01-01T00:00:00Z", "good": 1, "total": 1}]},
        ),
        (
            "post",
            "/api/v1/events",
            {
                "events": [
                    {"slo": "1", "timestamp": "2026-01-01T00:00:00Z", "good": 1, "total": 10**30}
                ]
            },
        ),
    ],
)
def test_out_of_range_numbers_are_4xx_not_500(
    client: TestClient, tokens: dict[Role, str], method: str, path: str, body: dict | None
) -> None:
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(path, headers=bearer(tokens[Role.admin]), **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"error"}
