"""The audit list written from rows: the same content as ``AuditRecordOut`` gives, page by page,
with filters."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from opsloop.core.audit import service as audit
from opsloop.core.audit.models import AuditRecord
from opsloop.core.audit.schemas import AuditRecordOut
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.db import Database
from tests.helpers import bearer


def _reference(db: Database) -> list[dict[str, Any]]:
    """What the list answered when it built an ``AuditRecordOut`` per record."""
    with db.read() as session:
        rows = session.scalars(select(AuditRecord).order_by(AuditRecord.seq))
        return [
            json.loads(AuditRecordOut(**audit.to_dict(r, parse_changes=False)).model_dump_json())
            for r in rows
        ]


def _all(client: TestClient, token: str, query: str = "") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        response = client.get(f"/api/v1/audit?limit=3{query}{cursor}", headers=bearer(token))
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 3
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        cursor = f"&cursor={page['next_cursor']}"


def test_records_equal_the_model_built_ones(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    with db.write() as session:
        audit.record(
            session,
            principal=SYSTEM,
            action="slo.update",
            entity_type="slo",
            entity_id="7",
            before={"description": "Antwortzeit « 300 ms »", "labels": {"a": "1"}, "x": 0.1},
            after={"description": 'quote " and \\ backslash\n', "labels": {}, "x": 1e-9},
        )
        audit.record(
            session, principal=SYSTEM, action="slo.delete", entity_type="slo", entity_id="ß"
        )
    got = _all(client, tokens[Role.approver])
    expected = _reference(db)
    assert len(got) == len(expected) > 3
    for new, old in zip(got, expected, strict=True):
        assert new == old
    assert got[-1]["entity_id"] == "ß" and got[-2]["changes"]["x"]["after"] == 1e-9


def test_filters_page_the_same_way(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    expected = [r for r in _reference(db) if r["action"] == "token.create"]
    assert len(expected) == len(Role)
    assert _all(client, tokens[Role.approver], "&action=token.create") == expected
    none = client.get("/api/v1/audit?actor=nobody", headers=bearer(tokens[Role.approver]))
    assert none.json() == {"items": [], "next_cursor": None}


def test_kept_pages_never_hide_records_appended_later(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    """Full pages are kept (records are append-only); the last page is read every time, so a
    record appended after a client reached the end shows on the same cursor."""
    token = tokens[Role.approver]
    for round_ in range(3):
        assert _all(client, token) == _reference(db)
        assert _all(client, token, "&action=slo.delete") == [
            r for r in _reference(db) if r["action"] == "slo.delete"
        ]
        for n in range(round_ + 2):
            with db.write() as session:
                audit.record(
                    session,
                    principal=SYSTEM,
                    action="slo.delete",
                    entity_type="slo",
                    entity_id=f"{round_}-{n}",
                )
    assert len(_reference(db)) == len(Role) * 2 + 9
