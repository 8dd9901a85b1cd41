"""The alert list written from rows: the same body, page by page and with every filter, as
building an ``AlertOut`` per alert and serialising the page through the model gave."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from opsloop.alerts import service as alerts
from opsloop.alerts.models import Alert, AlertStatus, Feedback
from opsloop.alerts.schemas import AlertOut
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.core.schemas import Page, Paging, page_of
from tests.helpers import bearer

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _alert(n: int) -> Alert:
    """Alert ``n`` of a varied set: both states, acked or not, feedback or none, empty and
    unicode texts, times with and without microseconds."""
    at = START + timedelta(minutes=n, microseconds=(n * 137_001) % 1_000_000 if n % 2 else 0)
    annotations: dict[str, str] = {"summary": f'résumé {n} "quoted" \\ ✓'}
    if n % 3 == 0:
        annotations["runbook_url"] = f"https://runbooks.example/{n}"
    elif n % 3 == 1:
        annotations["runbook_url"] = ""
    acked = n % 4 == 1
    return Alert(
        fingerprint=f"fp{n:04d}",
        starts_at=at,
        ends_at=at + timedelta(seconds=90) if n % 5 == 0 else None,
        status=AlertStatus.resolved if n % 5 == 0 else AlertStatus.firing,
        name=("DiskFull", "Latency", "Ünïcode ⚠")[n % 3],
        severity=("critical", "high", "medium", "info")[n % 4],
        service=None if n % 7 == 3 else f"svc-{n % 3}",
        slo_id=n if n % 6 == 0 else None,
        labels=json.dumps({"alertname": "x", "team": f"t{n % 2}", "zone": "eu\u00e9"}),
        annotations=json.dumps(annotations, ensure_ascii=n % 2 == 0),
        generator_url=f"http://prom.example/graph?g0.expr=up%7Bn%3D{n}%7D",
        receiver="opsloop",
        respond_by=at + timedelta(hours=1),
        received_at=at + timedelta(seconds=2),
        received_by="alertmanager",
        request_id=f"r{n}",
        resolved_request_id="",
        acked_at=at + timedelta(minutes=3) if acked else None,
        acked_by="ana" if acked else "",
        ack_seconds=180 if acked else None,
        escalated_at=at + timedelta(hours=1) if n % 8 == 2 else None,
        feedback=(None, Feedback.actionable, Feedback.false_positive)[n % 3],
        feedback_action="paged the owner" if n % 3 == 1 else "",
        feedback_by="bo" if n % 3 else "",
        feedback_at=at + timedelta(minutes=9) if n % 3 else None,
        incident_id=100 + n if n % 4 == 0 else None,
    )


@pytest.fixture
def varied(db: Database) -> None:
    with db.write() as session:
        session.add_all(_alert(n) for n in range(23))


def reference(db: Database, flt: alerts.AlertFilter, paging: Paging) -> str:
    """The page as the route answered when it built an ``AlertOut`` per alert."""
    with db.read() as session:
        rows = alerts.list_alerts(session, flt=flt, limit=paging.limit + 1, before_id=paging.after)
        page = page_of(rows, lambda a: a.id, paging, descending=True)
        out = Page[AlertOut](
            items=[AlertOut.of(a) for a in page.items], next_cursor=page.next_cursor
        )
        return out.model_dump_json()


QUERIES: list[tuple[str, alerts.AlertFilter]] = [
    ("", alerts.AlertFilter()),
    ("&status=resolved", alerts.AlertFilter(status=AlertStatus.resolved)),
    ("&service=svc-1", alerts.AlertFilter(service="svc-1")),
    ("&severity=high", alerts.AlertFilter(severity="high")),
    ("&name=%C3%9Cn%C3%AFcode%20%E2%9A%A0", alerts.AlertFilter(name="Ünïcode ⚠")),
    (
        "&since=2026-11-02T09:05:00Z&until=2026-11-02T09:17:00%2B00:00",
        alerts.AlertFilter(since=START + timedelta(minutes=5), until=START + timedelta(minutes=17)),
    ),
    ("&status=firing&service=svc-2", alerts.AlertFilter(AlertStatus.firing, "svc-2")),
    ("&name=none", alerts.AlertFilter(name="none")),
]


@pytest.mark.parametrize("limit", [4, 100])
@pytest.mark.usefixtures("varied")
def test_pages_match_the_model(
    client: TestClient, tokens: dict[Role, str], db: Database, limit: int
) -> None:
    viewer = bearer(tokens[Role.viewer])
    for query, flt in QUERIES:
        after: int | None = None
        while True:
            cursor = "" if after is None else f"&cursor={after:x}"
            response = client.get(f"/api/v1/alerts?limit={limit}{query}{cursor}", headers=viewer)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            expected = reference(db, flt, Paging(limit=limit, after=after))
            # Compared as text: key order and layout are part of the answer.
            assert response.text == expected, query
            expected = json.loads(expected)
            if expected["next_cursor"] is None:
                break
            after = int(expected["next_cursor"], 16)


def test_default_page_and_bad_input(client: TestClient, tokens: dict[Role, str]) -> None:
    viewer = bearer(tokens[Role.viewer])
    assert client.get("/api/v1/alerts", headers=viewer).json() == {
        "items": [],
        "next_cursor": None,
    }
    for query, field in (
        ("status=open", "status"),
        ("since=2026-11-02T09:00:00", "since"),
        ("limit=501", "limit"),
        ("cursor=zz", "cursor"),
    ):
        response = client.get(f"/api/v1/alerts?{query}", headers=viewer)
        assert response.status_code == 422, query
        assert field in response.text
    assert client.get("/api/v1/alerts").status_code == 401
