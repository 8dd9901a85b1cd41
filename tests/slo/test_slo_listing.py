"""SLO lists and statuses written from rows: the same content as the models give, a page at a
time, with filters; the status from the last evaluation unless asked for a fresh one."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.core.schemas import MAX_LIMIT, tidy
from opsloop.slo import evaluation
from opsloop.slo import service as slo_service
from opsloop.slo.models import SLO, Evaluation
from opsloop.slo.schemas import SLOOut
from tests.helpers import bearer
from tests.slo.test_push_evaluate import NOW, at_now, create_pushed, minutes, push

__all__ = ["at_now"]


def reference_out(slo: SLO, result: dict[str, Any] | None) -> dict[str, Any]:
    """What ``GET /api/v1/slos`` answered per SLO when it built an ``SLOOut`` for each."""
    summary = slo_service.summary(slo_service.definition(slo))
    out = SLOOut(
        id=slo.id,
        service=slo.service,
        name=slo.name,
        source=slo.source,
        objective=slo.objective,
        sli_kind=summary["sli_kind"],
        window=summary["window"],
        description=summary["description"],
        owner=summary["owner"],
        labels=summary["labels"],
        policy_state=slo.policy_state,
        policy_state_since=slo.policy_state_since,
        period_started_at=datetime.fromisoformat(result["period"]["start"])
        if result
        else slo.created_at,
        status=result,
    )
    shown: dict[str, Any] = json.loads(out.model_dump_json())
    return shown


def reference_list(db: Database) -> list[dict[str, Any]]:
    with db.read() as session:
        rows = sorted(slo_service.list_slos(session), key=lambda s: s.id)
        latest = slo_service.latest_results(session, slo_ids=[s.id for s in rows])
        return [reference_out(s, latest.get(s.id)) for s in rows]


def listed(client: TestClient, token: str, query: str = "") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        response = client.get(f"/api/v1/slos?limit=2{query}{cursor}", headers=bearer(token))
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        cursor = f"&cursor={page['next_cursor']}"


@pytest.fixture
def varied(client: TestClient, tokens: dict[Role, str], db: Database, at_now: Any) -> list[int]:
    """SLOs with and without data, calendar and rolling, labels, unicode; one never evaluated
    and one whose stored result was written before results were stored tidy."""
    approver = tokens[Role.approver]
    ids = [
        create_pushed(client, approver),
        create_pushed(
            client,
            approver,
            service="search",
            name="latency",
            objective=99.5,
            window="month",
            time_zone="Europe/Berlin",
            sli_kind="latency",
            description="Antwortzeit < 300 ms — «p99»",
            owner="team-ß",
            labels={"tier": "1", "team": "search"},
        ),
        create_pushed(client, approver, service="search", name="errors", objective=99.0),
        create_pushed(client, approver, service="billing", name="checkout-api", objective=99.95),
    ]
    start = NOW - timedelta(minutes=30)
    push(client, tokens[Role.responder], ids[0], minutes(start, 30, 997, 1000))
    push(client, tokens[Role.responder], ids[1], minutes(start, 30, 333, 347))
    evaluation.evaluate(db, now=clock.now(), persist=True)
    with db.write() as session:
        session.execute(Evaluation.__table__.delete().where(Evaluation.slo_id == ids[2]))
        raw = session.get(Evaluation, ids[3])
        assert raw is not None
        legacy = json.loads(raw.result)
        legacy["error_budget"] = 0.1 + 0.2  # 0.30000000000000004: untidy, as stored before
        raw.result = json.dumps(legacy)
    return ids


def test_list_items_equal_the_model_built_ones(
    client: TestClient, tokens: dict[Role, str], db: Database, varied: list[int]
) -> None:
    got = listed(client, tokens[Role.viewer])
    expected = reference_list(db)
    assert [i["id"] for i in got] == sorted(varied)
    for new, old in zip(got, expected, strict=True):
        assert new == old
    assert got[3]["status"]["error_budget"] == 0.3
    assert got[2]["status"] is None
    one = client.get(f"/api/v1/slos/{varied[1]}", headers=bearer(tokens[Role.viewer]))
    assert one.json() == expected[1]
    assert one.headers["content-type"] == "application/json"


def test_stored_results_are_what_the_fresh_status_shows(
    client: TestClient, tokens: dict[Role, str], db: Database, varied: list[int]
) -> None:
    viewer = bearer(tokens[Role.viewer])
    for slo_id in (varied[0], varied[1]):
        stored = client.get(f"/api/v1/slos/{slo_id}/status", headers=viewer)
        fresh = client.get(f"/api/v1/slos/{slo_id}/status?fresh=true", headers=viewer)
        assert stored.status_code == fresh.status_code == 200
        assert stored.json() == fresh.json()
        statuses = evaluation.evaluate(db, now=clock.now(), slo_ids=[slo_id], persist=False)
        assert stored.json() == tidy(statuses[slo_id].to_json())
        with db.read() as session:
            text = session.get(Evaluation, slo_id)
            assert text is not None and evaluation.is_stored_tidy(text.result)
            assert json.loads(text.result) == stored.json()


def test_status_is_the_last_evaluation_until_asked_fresh(
    client: TestClient, tokens: dict[Role, str], at_now: clock.FrozenClock
) -> None:
    viewer = bearer(tokens[Role.viewer])
    slo_id = create_pushed(client, tokens[Role.approver])
    at_now.current = NOW + timedelta(minutes=3)
    stored = client.get(f"/api/v1/slos/{slo_id}/status", headers=viewer).json()
    assert stored["evaluated_at"] == NOW.isoformat()
    fresh = client.get(f"/api/v1/slos/{slo_id}/status?fresh=true", headers=viewer).json()
    assert fresh["evaluated_at"] == at_now.current.isoformat()
    # A fresh status is not stored.
    again = client.get(f"/api/v1/slos/{slo_id}/status", headers=viewer).json()
    assert again["evaluated_at"] == NOW.isoformat()


def test_a_reset_or_a_missing_evaluation_means_evaluating_now(
    client: TestClient, tokens: dict[Role, str], db: Database, at_now: clock.FrozenClock
) -> None:
    viewer = bearer(tokens[Role.viewer])
    slo_id = create_pushed(client, tokens[Role.approver])
    at_now.current = NOW + timedelta(minutes=5)
    reset = client.post(
        f"/api/v1/slos/{slo_id}/reset", json={"reason": "x"}, headers=bearer(tokens[Role.admin])
    )
    assert reset.status_code == 200, reset.text
    at_now.current = NOW + timedelta(minutes=6)
    after_reset = client.get(f"/api/v1/slos/{slo_id}/status", headers=viewer).json()
    assert after_reset["evaluated_at"] == at_now.current.isoformat()
    assert after_reset["budget_epoch"] == (NOW + timedelta(minutes=5)).isoformat()
    with db.write() as session:
        session.execute(Evaluation.__table__.delete())
    missing = client.get(f"/api/v1/slos/{slo_id}/status", headers=viewer)
    assert missing.status_code == 200
    assert missing.json()["evaluated_at"] == at_now.current.isoformat()
    unknown = client.get("/api/v1/slos/999/status", headers=viewer)
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "slo"


def test_list_filters(
    client: TestClient, tokens: dict[Role, str], db: Database, varied: list[int]
) -> None:
    viewer = tokens[Role.viewer]
    with db.write() as session:
        session.execute(update(SLO).where(SLO.id == varied[2]).values(policy_state="on-hold"))

    def ids(query: str) -> list[int]:
        return [i["id"] for i in listed(client, viewer, query)]

    assert ids("&service=search") == [varied[1], varied[2]]
    assert ids("&policy_state=on-hold") == [varied[2]]
    assert ids("&source=push") == sorted(varied)
    assert ids("&source=prometheus") == []
    assert ids("&search=CHECK") == [varied[0], varied[3]]
    assert ids("&search=lat&service=search") == [varied[1]]
    assert ids("&search=%25") == []  # a literal %, not a wildcard
    bad = client.get("/api/v1/slos?source=kafka", headers=bearer(viewer))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "source"


@pytest.mark.parametrize("path", ["/api/v1/slos", "/api/v1/audit", "/api/v1/users"])
def test_pages_are_bounded(client: TestClient, tokens: dict[Role, str], path: str) -> None:
    admin = bearer(tokens[Role.admin])
    too_many = client.get(f"{path}?limit={MAX_LIMIT + 1}", headers=admin)
    assert too_many.status_code == 422
    assert too_many.json()["error"]["field"] == "limit"
    assert client.get(f"{path}?limit={MAX_LIMIT}", headers=admin).status_code == 200
