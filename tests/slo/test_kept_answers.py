"""Kept answers follow every write: the SLO list (API and page) and the stored status are kept
per process under the "slos" generation, which database triggers move. After each kind of
write, whoever made it, a long-lived app answers what a new app (nothing kept) answers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from opsloop.app import create_app
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.slo import evaluation
from tests.helpers import bearer
from tests.kept import kept
from tests.slo.test_push_evaluate import NOW, at_now, create_pushed, minutes, push
from tests.web.pages import sign_in

pytestmark = pytest.mark.usefixtures("at_now")
__all__ = ["at_now", "kept"]
PATHS = ("/api/v1/slos?limit=2", "/api/v1/slos?limit=50&service=checkout", "/api/v1/slos")


def answers(client: TestClient, token: str) -> dict[str, Any]:
    """Everything kept: list pages, every SLO's status, the list page for two roles."""
    out: dict[str, Any] = {}
    for path in PATHS:
        out[path] = client.get(path, headers=bearer(token)).json()
    for item in client.get("/api/v1/slos", headers=bearer(token)).json()["items"]:
        path = f"/api/v1/slos/{item['id']}/status"
        out[path] = client.get(path, headers=bearer(token)).json()
    for user in ("viewer", "approver"):
        sign_in(client, user)
        for path in ("/slos", "/slos?service=checkout", "/slos?q=avail&page=1"):
            page = client.get(path)
            assert page.status_code == 200, page.text
            # The CSRF token in the page's forms differs per session; the list does not.
            out[f"{user} {path}"] = page.text.split("<main", 1)[1].split("</main>", 1)[0]
    client.cookies.clear()
    return out


def counter(db: Database) -> int | None:
    with db.engine.connect() as conn:
        value = conn.execute(text("SELECT value FROM generations WHERE name = 'slos'")).scalar()
    return None if value is None else int(value)


def assert_fresh(kept: TestClient, settings: Settings, db: Database, token: str) -> None:
    with TestClient(create_app(settings, db)) as new:
        expected = answers(new, token)
    assert answers(kept, token) == expected


def test_every_kind_of_write_is_seen_at_once(
    kept: TestClient, settings: Settings, db: Database, tokens: dict[Role, str]
) -> None:
    approver, admin = tokens[Role.approver], tokens[Role.admin]
    first = create_pushed(kept, approver)
    assert_fresh(kept, settings, db, approver)  # the list and statuses are kept now

    second = create_pushed(kept, approver, name="latency")
    assert_fresh(kept, settings, db, approver)

    assert push(kept, approver, first, minutes(NOW - timedelta(minutes=30), 20, 99, 100)).is_success
    evaluation.evaluate(db, now=clock.now())  # the scheduler's job: new stored results
    assert_fresh(kept, settings, db, approver)

    updated = kept.post(
        "/api/v1/slos",
        json={"service": "checkout", "name": "latency", "objective": 99.0},
        headers=bearer(approver),
    )
    assert updated.status_code == 200, updated.text
    assert_fresh(kept, settings, db, approver)

    reset = kept.post(
        f"/api/v1/slos/{first}/reset", json={"reason": "migration replay"}, headers=bearer(admin)
    )
    assert reset.status_code == 200, reset.text
    assert_fresh(kept, settings, db, approver)

    # Another process (a CLI, a second replica) writes through the database alone.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE slos SET objective = 95.0 WHERE id = :id"), {"id": second})
    assert_fresh(kept, settings, db, approver)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM slo_evaluations WHERE slo_id = :id"), {"id": first})
    assert_fresh(kept, settings, db, approver)

    assert kept.delete(f"/api/v1/slos/{second}", headers=bearer(admin)).status_code == 204
    assert_fresh(kept, settings, db, approver)


def test_the_counter_moves_with_each_statement_on_the_covered_tables(
    kept: TestClient, db: Database, tokens: dict[Role, str]
) -> None:
    def now() -> int | None:
        return counter(db)

    slo_id = create_pushed(kept, tokens[Role.approver])
    seen = [now()]
    for statement in (
        "UPDATE slos SET objective = 99.5 WHERE id = :id",
        "DELETE FROM slo_evaluations WHERE slo_id = :id",
        "DELETE FROM slos WHERE id = :id",
    ):
        with db.engine.begin() as conn:
            conn.execute(text(statement), {"id": slo_id})
        seen.append(now())
    assert None not in seen
    assert len(set(seen)) == len(seen), seen
    # A statement that changes nothing need not move it, but a rolled-back one must not.
    with pytest.raises(RuntimeError), db.engine.begin() as conn:
        conn.execute(text("UPDATE slos SET objective = 90.0"))
        raise RuntimeError
    assert now() == seen[-1]


def test_a_lost_counter_row_comes_back_on_the_next_write(
    kept: TestClient, settings: Settings, db: Database, tokens: dict[Role, str]
) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM generations"))
    assert counter(db) is None
    approver = tokens[Role.approver]
    assert kept.get("/api/v1/slos", headers=bearer(approver)).json()["items"] == []
    create_pushed(kept, approver)  # kept nothing meanwhile: there was no counter to keep it by
    assert counter(db) is not None
    assert_fresh(kept, settings, db, approver)


def test_after_an_evaluation_the_kept_statuses_are_read_again_in_one_query(
    kept: TestClient, settings: Settings, db: Database, tokens: dict[Role, str]
) -> None:
    approver = tokens[Role.approver]
    ids = [create_pushed(kept, approver, name=f"slo-{n}") for n in range(5)]
    evaluation.evaluate(db, now=clock.now())
    paths = [f"/api/v1/slos/{slo_id}/status" for slo_id in ids]
    before = {path: kept.get(path, headers=bearer(approver)).json() for path in paths}

    for slo_id in ids:
        push(kept, approver, slo_id, minutes(NOW - timedelta(minutes=10), 5, 90, 100))
    evaluation.evaluate(db, now=clock.now())  # moves the counter: every kept status is stale
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM slo_evaluations" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        after = {path: kept.get(path, headers=bearer(approver)).json() for path in paths}
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(reads) == 1, reads
    assert all(after[path] != before[path] for path in paths)
    with TestClient(create_app(settings, db)) as new:
        assert after == {path: new.get(path, headers=bearer(approver)).json() for path in paths}


def test_requests_arriving_during_a_refill_wait_for_it_instead_of_reading_again(
    settings: Settings, db: Database, tokens: dict[Role, str]
) -> None:
    approver = tokens[Role.approver]
    app = create_app(settings, db)
    with TestClient(app) as client:
        ids = [create_pushed(client, approver, name=f"slo-{n}") for n in range(6)]
        evaluation.evaluate(db, now=clock.now())
        paths = [f"/api/v1/slos/{slo_id}/status" for slo_id in ids]
        for path in paths:
            assert client.get(path, headers=bearer(approver)).status_code == 200
        for slo_id in ids:
            push(client, approver, slo_id, minutes(NOW - timedelta(minutes=10), 5, 90, 100))
    evaluation.evaluate(db, now=clock.now())
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM slo_evaluations" in statement:
            reads.append(statement)

    async def all_at_once() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answers = await asyncio.gather(
                *(http.get(path, headers=bearer(approver)) for path in paths)
            )
        return [answer.status_code for answer in answers]

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert asyncio.run(all_at_once()) == [200] * len(paths)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(reads) == 1, reads
