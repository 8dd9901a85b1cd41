"""The change list written from rows: the same body, page by page and with every filter, as
building a ``ChangeRow`` per change and serialising the page through the model gave."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.changes import service as changes
from opsloop.changes.models import Change
from opsloop.changes.rules import ChangeModel, ChangeState, RiskLevel
from opsloop.changes.schemas import ChangeRow
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.core.schemas import Page, Paging, page_of
from tests.helpers import bearer, make_user

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STATES = list(ChangeState)


def _change(n: int) -> Change:
    """Change ``n`` of a varied set: every state, model and risk, with and without a window
    and a requester, unicode titles, times with and without microseconds."""
    raised = START + timedelta(hours=n, microseconds=(n * 250_001) % 1_000_000 if n % 2 else 0)
    window = raised + timedelta(days=n % 4 - 1, seconds=n) if n % 3 else None
    return Change(
        key=f"CR-2026-{n + 1:03d}",
        year=2026,
        number=n + 1,
        title=("Upgrade the database", 'Rotate "keys" \\ ✓', "Réindexer la recherche")[n % 3],
        service=f"svc-{n % 3}",
        category=("database", "application", "security")[n % 3],
        model=list(ChangeModel)[n % 3],
        risk=list(RiskLevel)[n % 3 if n % 5 else 2],
        state=STATES[n % len(STATES)],
        requester=None if n % 4 == 3 else "alice",
        window_start=window,
        window_end=window + timedelta(hours=2, microseconds=500) if window else None,
        created_by="alice",
        created_at=raised,
        updated_at=raised + timedelta(minutes=5),
    )


@pytest.fixture
def varied(db: Database) -> None:
    make_user(db, "alice", Role.responder)
    with db.write() as session:
        session.add_all(_change(n) for n in range(23))


def reference(db: Database, flt: changes.ChangeFilter, paging: Paging) -> str:
    """The page as the route answered when it built a ``ChangeRow`` per change."""
    with db.read() as session:
        rows = changes.list_changes(
            session, flt=flt, before_id=paging.after, limit=paging.limit + 1
        )
        page = page_of(rows, lambda c: c.id, paging, descending=True)
        out = Page[ChangeRow](
            items=[ChangeRow.of(c) for c in page.items], next_cursor=page.next_cursor
        )
        return out.model_dump_json()


QUERIES: list[tuple[str, changes.ChangeFilter]] = [
    ("", changes.ChangeFilter()),
    ("&state=in_progress", changes.ChangeFilter(state=ChangeState.in_progress)),
    ("&service=svc-1", changes.ChangeFilter(service="svc-1")),
    ("&model=emergency", changes.ChangeFilter(model=ChangeModel.emergency)),
    ("&risk=high", changes.ChangeFilter(risk=RiskLevel.high)),
    (
        "&since=2026-11-02T12:00:00Z&until=2026-11-03T02:00:00%2B00:00",
        changes.ChangeFilter(since=START + timedelta(hours=3), until=START + timedelta(hours=17)),
    ),
    (
        "&state=draft&model=standard&risk=low&service=svc-0",
        changes.ChangeFilter(ChangeState.draft, "svc-0", ChangeModel.standard, RiskLevel.low),
    ),
]


@pytest.mark.parametrize("limit", [4, 100])
@pytest.mark.usefixtures("varied")
def test_pages_match_the_model(
    client: TestClient, tokens: dict[Role, str], db: Database, limit: int
) -> None:
    viewer = bearer(tokens[Role.viewer])
    for query, flt in QUERIES:
        after: int | None = None
        pages = 0
        while True:
            cursor = "" if after is None else f"&cursor={after:x}"
            response = client.get(f"/api/v1/changes?limit={limit}{query}{cursor}", headers=viewer)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            expected = reference(db, flt, Paging(limit=limit, after=after))
            # Compared as text: key order and layout are part of the answer.
            assert response.text == expected, query
            expected = json.loads(expected)
            pages += 1
            if expected["next_cursor"] is None:
                break
            after = int(expected["next_cursor"], 16)
        assert query != "" or pages == (1 if limit == 100 else 6)


def test_default_page_and_bad_input(client: TestClient, tokens: dict[Role, str]) -> None:
    viewer = bearer(tokens[Role.viewer])
    assert client.get("/api/v1/changes", headers=viewer).json() == {
        "items": [],
        "next_cursor": None,
    }
    for query, field in (
        ("state=done", "state"),
        ("model=big", "model"),
        ("risk=none", "risk"),
        ("since=2026-11-03T00:00:00Z&until=2026-11-02T00:00:00Z", "since"),
        ("limit=0", "limit"),
        ("cursor=zz", "cursor"),
    ):
        response = client.get(f"/api/v1/changes?{query}", headers=viewer)
        assert response.status_code == 422, query
        assert field in response.text
    assert client.get("/api/v1/changes").status_code == 401
