"""The audit API: verification with an anchor, and the request ids a record keeps."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.helpers import append_only_guard_dropped, bearer


def _head(db: Database) -> str:
    with db.read() as session:
        seq, digest = audit.head(session)
    return f"{seq}:{digest}"


def test_verify_takes_an_anchor_and_full(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    admin = bearer(tokens[Role.admin])
    anchor = _head(db)
    first = client.get("/api/v1/audit/verify", params={"anchor": anchor}, headers=admin).json()
    assert first["ok"] is True and first["checked"] == first["walked"] == len(Role) * 2
    again = client.get("/api/v1/audit/verify", headers=admin).json()
    assert (again["ok"], again["walked"], again["from_seq"]) == (True, 0, first["checked"])
    full = client.get("/api/v1/audit/verify", params={"full": "true"}, headers=admin).json()
    assert full["walked"] == full["checked"] == first["checked"]

    with append_only_guard_dropped(db), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE seq > 2"))
    broken = client.get("/api/v1/audit/verify", params={"anchor": anchor}, headers=admin)
    assert broken.status_code == 200
    assert broken.json()["ok"] is False and broken.json()["first_bad_seq"] == 3


def test_malformed_anchor_is_422_naming_the_field(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.get(
        "/api/v1/audit/verify",
        params={"anchor": "12:short"},
        headers=bearer(tokens[Role.admin]),
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "anchor"


def test_the_server_id_is_recorded_and_the_client_id_kept_beside_it(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    # The second client reuses the first one's id: the trail still tells the requests apart.
    server_ids = []
    for username in ("erin", "frank"):
        response = client.post(
            "/api/v1/users",
            json={"username": username, "role": "viewer", "display_name": username},
            headers={**bearer(tokens[Role.admin]), "X-Request-ID": "reused-id"},
        )
        assert response.status_code == 201
        server_ids.append(response.headers["x-request-id"])
    with db.read() as session:
        rows, _ = audit.page(session, flt=audit.AuditFilter(action="user.create", actor="admin"))
    assert [(r.request_id, r.client_request_id) for r in rows] == [
        (server_ids[0], "reused-id"),
        (server_ids[1], "reused-id"),
    ]
    assert server_ids[0] != server_ids[1] and "reused-id" not in server_ids
    listed = client.get(
        "/api/v1/audit",
        params={"action": "user.create", "actor": "admin"},
        headers=bearer(tokens[Role.admin]),
    ).json()["items"]
    assert [i["client_request_id"] for i in listed] == ["reused-id", "reused-id"]
