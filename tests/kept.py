"""Comparing a long-lived app, which keeps list answers between requests, with one that keeps
nothing (every answer built from the rows): after any write, or with the clock moved, and for
every filter, limit and cursor, both must answer alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from opsloop.app import create_app
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.generations import RenderedCache
from tests.helpers import bearer, before_each_statement, statements_run
from tests.web.pages import sign_in


@pytest.fixture
def kept(settings: Settings, db: Database) -> Iterator[TestClient]:
    """An app that lives through all the writes, like a worker does."""
    with TestClient(create_app(settings, db)) as client:
        yield client


def answers(
    client: TestClient, token: str, paths: Iterable[str], pages: Iterable[str] = ()
) -> dict[str, tuple[int, bytes]]:
    """Each API path's status and body; each page's list (signed in as a viewer and as a
    responder: who may declare sees a button more) without the session's CSRF token."""
    out = {}
    for path in paths:
        answer = client.get(path, headers=bearer(token))
        out[path] = (answer.status_code, answer.content)
    for user in ("viewer", "responder") if pages else ():
        sign_in(client, user)
        for path in pages:
            page = client.get(path)
            main = page.text.split("<main", 1)[1].split("</main>", 1)[0]
            out[f"{user} {path}"] = (page.status_code, main.encode())
    client.cookies.clear()
    return out


def assert_fresh(
    kept: TestClient,
    settings: Settings,
    db: Database,
    token: str,
    paths: Iterable[str],
    pages: Iterable[str] = (),
) -> dict[str, tuple[int, bytes]]:
    """The long-lived app answers what one that keeps nothing does (asked twice: the second
    time from what the first kept)."""
    paths, pages = list(paths), list(pages)
    unkept = create_app(settings, db)
    unkept.state.rendered = RenderedCache(max_bytes=0)  # keeps no answer: none is that small
    with TestClient(unkept) as new:
        expected = answers(new, token, paths, pages)
    assert answers(kept, token, paths, pages) == expected
    assert answers(kept, token, paths, pages) == expected
    return expected


def assert_writes_seen(
    kept: TestClient,
    settings: Settings,
    db: Database,
    token: str,
    paths: Iterable[str],
    seen: dict[str, tuple[int, bytes]],
    writes: Iterable[str | None],
    pages: Iterable[str] = (),
) -> dict[str, tuple[int, bytes]]:
    """After each write (``None``: one already made through the app) the long-lived app answers
    as a new one does, and something it answers differs from before: a kept answer would be
    stale. Returns the last answers."""
    paths, pages = list(paths), list(pages)
    for statement in writes:
        if statement is not None:
            write(db, statement)
        fresh = assert_fresh(kept, settings, db, token, paths, pages)
        assert fresh != seen, statement
        seen = fresh
    return seen


def write(db: Database, statement: str, **values: object) -> None:
    """A write through the database alone, as another process (a CLI, a replica) makes it."""
    with db.engine.begin() as conn:
        assert conn.execute(text(statement), values).rowcount > 0, statement


def counter(db: Database, name: str) -> int | None:
    with db.engine.connect() as conn:
        found = conn.execute(text("SELECT value FROM generations WHERE name = :n"), {"n": name})
        value = found.scalar()
    return None if value is None else int(value)


@contextmanager
def slowed_reads(db: Database, table: str, seconds: float) -> Iterator[list[str]]:
    """The statements reading ``table`` meanwhile, each held up ``seconds`` so that concurrent
    requests meet while it runs."""
    seen: list[str] = []

    def slowed(statement: str) -> None:
        if f"FROM {table}" in statement:
            seen.append(statement)
            time.sleep(seconds)

    with before_each_statement(db, slowed):
        yield seen


def asked_together(app: Any, path: str, token: str, count: int) -> list[httpx.Response]:
    """``count`` requests for ``path`` at once, on one event loop (as a worker serves them)."""

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(
                *(http.get(path, headers=bearer(token)) for _ in range(count))
            )

    return asyncio.run(main())


def assert_kept(
    kept: TestClient, db: Database, token: str, paths: Iterable[str], table: str
) -> None:
    """Asked again, each path is answered without reading ``table`` (only its counter, read
    on a connection of its own): the other tests would pass, emptily, if nothing were kept."""
    paths = list(paths)
    first = answers(kept, token, paths)
    with statements_run(db) as seen:
        assert answers(kept, token, paths) == first
    assert [s for s in seen if f"FROM {table}" in s] == []
