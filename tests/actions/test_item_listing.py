"""The action item list written from rows: the same body, page by page and with every filter,
as building an ``ItemOut`` per item (with its notes and escalations) and serialising the page
through the model gave."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.actions import service as actions
from opsloop.actions.models import ActionItem, ActionItemEscalation, ActionItemNote
from opsloop.actions.rules import ItemStatus, Priority
from opsloop.actions.schemas import ItemOut
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.core.schemas import Page, Paging, page_of
from tests.actions.helpers import START, incident, make_team
from tests.helpers import bearer


def _item(n: int, incident_id: int, incident_key: str) -> ActionItem:
    """Item ``n`` of a varied set: every status and priority, user and team owners, due in the
    past and the future, unicode texts, times with and without microseconds."""
    at = START - timedelta(days=30 - n, microseconds=(n * 310_001) % 1_000_000 if n % 2 else 0)
    status = list(ItemStatus)[n % len(ItemStatus)]
    return ActionItem(
        incident_id=incident_id,
        incident_key=incident_key,
        description=("Add a pool alert", 'Fix "retries" \\ ✓', "Réduire le délai")[n % 3],
        owner_user=None if n % 3 == 2 else ("alice", "lena", "bo")[n % 3],
        owner_team="payments" if n % 3 == 2 else None,
        priority=list(Priority)[n % 3],
        due_on=date(2026, 11, 2) + timedelta(days=n % 9 - 5),
        status=status,
        created_by="responder",
        created_at=at,
        updated_at=at + timedelta(hours=1),
        completed_at=at + timedelta(days=1) if not status.is_open else None,
    )


@pytest.fixture
def varied(db: Database, frozen_clock: clock.FrozenClock) -> None:
    make_team(db, "payments", {"lena": "lead", "alice": "member"})
    first, second = incident(db), incident(db, title="Search slow")
    with db.write() as session:
        items = [_item(n, *((first.id, first.key) if n % 2 else (second.id, second.key)))
                 for n in range(23)]  # fmt: skip
        session.add_all(items)
        session.flush()
        for n, item in enumerate(items):
            for k in range(n % 3):
                session.add(
                    ActionItemNote(
                        item_id=item.id,
                        at=START - timedelta(hours=k, microseconds=n),
                        author="alice",
                        text=f'note {k} ✓ "{n}"',
                        status_change="open -> in_progress" if k else "",
                    )
                )
            for level in range(1, n % 4):
                session.add(
                    ActionItemEscalation(
                        item_id=item.id,
                        level=level,
                        at=START - timedelta(days=level),
                        notified_to="lena" if n % 2 else "",
                        teams="payments,search" if n % 5 else "",
                    )
                )


def reference(db: Database, flt: actions.ItemFilter, paging: Paging) -> str:
    """The page as the route answered when it built an ``ItemOut`` per item."""
    with db.read() as session:
        rows = actions.list_items(session, flt=flt, before_id=paging.after, limit=paging.limit + 1)
        page = page_of(rows, lambda i: i.id, paging, descending=True)
        out = Page[ItemOut](items=[ItemOut.of(i) for i in page.items], next_cursor=page.next_cursor)
        return out.model_dump_json()


QUERIES: list[tuple[str, actions.ItemFilter]] = [
    ("", actions.ItemFilter()),
    ("&status=open", actions.ItemFilter(open_only=True)),
    ("&status=done", actions.ItemFilter(status=ItemStatus.done)),
    ("&owner=alice", actions.ItemFilter(owner="alice")),
    ("&owner=team:payments", actions.ItemFilter(owner="team:payments")),
    ("&team=payments", actions.ItemFilter(team="payments")),
    ("&priority=p1", actions.ItemFilter(priority=Priority.P1)),
    ("&due_within_days=2", actions.ItemFilter(due_within_days=2)),
    ("&overdue=true", actions.ItemFilter(overdue=True)),
    ("&incident={second}", actions.ItemFilter(incident="{second}")),
]


@pytest.mark.parametrize("limit", [4, 100])
@pytest.mark.usefixtures("varied")
def test_pages_match_the_model(
    client: TestClient, tokens: dict[Role, str], db: Database, limit: int
) -> None:
    viewer = bearer(tokens[Role.viewer])
    with db.read() as session:
        second = actions.list_items(session)[0].incident_key
    for query, flt in QUERIES:
        query = query.format(second=second)
        if flt.incident:
            flt = actions.ItemFilter(incident=second)
        after: int | None = None
        while True:
            cursor = "" if after is None else f"&cursor={after:x}"
            url = f"/api/v1/action-items?limit={limit}{query}{cursor}"
            response = client.get(url, headers=viewer)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            expected = reference(db, flt, Paging(limit=limit, after=after))
            # Compared as text: key order and layout are part of the answer.
            assert response.text == expected, query
            expected = json.loads(expected)
            if not query and after is None and limit == 100:
                items = expected["items"]
                assert len(items) == 23
                assert all(any(i[k] for i in items) for k in ("notes", "escalations", "overdue"))
            if expected["next_cursor"] is None:
                break
            after = int(expected["next_cursor"], 16)


def test_default_page_and_bad_input(client: TestClient, tokens: dict[Role, str]) -> None:
    viewer = bearer(tokens[Role.viewer])
    assert client.get("/api/v1/action-items", headers=viewer).json() == {
        "items": [],
        "next_cursor": None,
    }
    for query, field in (
        ("status=gone", "status"),
        ("priority=P9", "priority"),
        ("team=nobody", "team"),
        ("incident=INC-9999", "incident"),
        ("due_within_days=-1", "due_within_days"),
        ("limit=501", "limit"),
    ):
        response = client.get(f"/api/v1/action-items?{query}", headers=viewer)
        assert response.status_code == 422, query
        assert field in response.text
    assert client.get("/api/v1/action-items").status_code == 401
