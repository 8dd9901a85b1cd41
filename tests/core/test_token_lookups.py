"""Requests whose token is not remembered (the first ones, and all in flight when its time in
the cache is up) share one lookup instead of one database read and worker thread each; a
request that arrives after the cache was cleared (a revocation here) does not share a lookup
begun before; one caller going away does not cancel the others'. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsloop.app import create_app
from opsloop.core.auth.cache import TokenCache
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.deps import authenticate_bearer
from opsloop.core.errors import Unauthorized
from tests.kept import asked_together, slowed_reads

SLOW = 0.3


def _together(app: Any, token: str, count: int) -> list[int]:
    return [answer.status_code for answer in asked_together(app, "/api/v1/me", token, count)]


@pytest.mark.parametrize(("who", "status"), [("viewer", 200), ("nobody", 401)])
def test_requests_missing_together_share_one_lookup(
    settings: Settings, db: Database, tokens: dict[Role, str], who: str, status: int
) -> None:
    app = create_app(settings, db)
    token = tokens[Role.viewer] if who == "viewer" else "opl_" + "0" * 40
    with TestClient(app):
        pass  # started and stopped once, as the other tests of kept answers do
    with slowed_reads(db, "api_tokens", SLOW) as reads:
        assert _together(app, token, 20) == [status] * 20
    assert len(reads) == 1, reads
    if status == 200:
        with slowed_reads(db, "api_tokens", SLOW) as reads:  # remembered now
            assert _together(app, token, 5) == [200] * 5
        assert reads == []


def test_a_request_after_a_clear_does_not_share_a_lookup_begun_before(
    db: Database, tokens: dict[Role, str]
) -> None:
    state = SimpleNamespace(db=db, token_cache=TokenCache())
    header = f"Bearer {tokens[Role.viewer]}"

    async def main() -> None:
        first = asyncio.ensure_future(authenticate_bearer(state, header))
        await asyncio.sleep(SLOW / 3)  # its lookup is under way
        state.token_cache.clear()  # as a revocation through this process does at commit
        second = await authenticate_bearer(state, header)
        assert (await first) == second

    with slowed_reads(db, "api_tokens", SLOW) as reads:
        asyncio.run(main())
    assert len(reads) == 2, reads


def test_a_caller_going_away_does_not_cancel_the_others(
    db: Database, tokens: dict[Role, str]
) -> None:
    state = SimpleNamespace(db=db, token_cache=TokenCache())
    header = f"Bearer {tokens[Role.viewer]}"

    async def main() -> None:
        first = asyncio.ensure_future(authenticate_bearer(state, header))
        await asyncio.sleep(SLOW / 3)
        second = asyncio.ensure_future(authenticate_bearer(state, header))
        await asyncio.sleep(0)
        first.cancel()
        principal = await second
        assert principal.actor == "viewer"
        assert state.token_cache.get(tokens[Role.viewer]) == principal
        assert state.token_cache.lookups == {}

    with slowed_reads(db, "api_tokens", SLOW) as reads:
        asyncio.run(main())
    assert len(reads) == 1, reads


def test_a_refused_token_is_refused_to_every_caller_that_shared_its_lookup(
    db: Database,
) -> None:
    state = SimpleNamespace(db=db, token_cache=TokenCache())

    async def main() -> list[BaseException | Any]:
        callers = [authenticate_bearer(state, "Bearer opl_unknown") for _ in range(3)]
        return await asyncio.gather(*callers, return_exceptions=True)

    with slowed_reads(db, "api_tokens", SLOW) as reads:
        answers = asyncio.run(main())
    assert len(reads) == 1
    assert all(isinstance(answer, Unauthorized) for answer in answers), answers
    assert state.token_cache.lookups == {}
