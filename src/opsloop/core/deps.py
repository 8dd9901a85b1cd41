"""FastAPI dependencies shared by every domain's router: sessions and the caller's identity."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from anyio.lowlevel import RunVar
from fastapi import Depends, Request
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from opsloop.core.auth import service as auth
from opsloop.core.auth.cache import TokenCache
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.secrets import digest
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.errors import Unauthorized
from opsloop.core.shared_work import shared


def database_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


# Dependencies that do no I/O are async: FastAPI runs a plain ``def`` dependency in a worker
# thread, and the hop there and back costs more than the lookup.
async def get_database(request: Request) -> Database:
    return database_of(request)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def read_session(request: Request) -> AsyncIterator[Session]:
    # async: opening costs no I/O (the connection is taken at the first query), so it needs no
    # worker thread. Closing a session that queried is a ROLLBACK and a pool check-in, blocking
    # I/O that must not run on the event loop; a session that never queried closes for free.
    # The database comes from the request, not from a dependency of its own: FastAPI spends
    # more per request on each dependency (resolving its cache key) than on this lookup.
    session = database_of(request).read_session()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


def write_session(db: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A control-plane transaction (it may audit) that commits only if the endpoint returns
    normally."""
    with db.write() as session:
        yield session


def data_write_session(db: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A data-plane transaction (pushed events): no audit lock, so it may not audit."""
    with db.write(audited=False) as session:
        yield session


# scope="function": the transaction ends before the response is sent, so a client never sees a
# success for a write whose commit then failed.
# max_concurrency: at most this many requests hold a session at once; the others wait without
# occupying a worker thread. Together with run_read's limit (36) they stay below the pool's
# capacity (CONNECTIONS_PER_PROCESS, 40), so threads are never all blocked waiting for
# connections held by requests that need a thread to finish (under 128 concurrent clients on
# one worker that deadlocked the process). Outside these limits, each holding one connection at
# a time: token lookups (current_principal), the web pages, the scheduler and its job lock.
ReadSession = Annotated[Session, Depends(read_session, scope="function", max_concurrency=16)]
WriteSession = Annotated[Session, Depends(write_session, scope="function", max_concurrency=6)]
DataWriteSession = Annotated[
    Session, Depends(data_write_session, scope="function", max_concurrency=6)
]


T = TypeVar("T")
#: How many ``run_read`` calls of one event loop (one per process) hold a connection at once.
READ_CONCURRENCY = 8
_read_limiter: RunVar[CapacityLimiter] = RunVar("opsloop_read_limiter")


async def run_read(request: Request, read: Callable[[Connection], T]) -> T:
    """``read(connection)`` in one worker-thread hop: the busiest reads (the SLO list and
    status, the audit list) checked out a connection, queried, rendered and closed in two or
    three hops through a session dependency and a sync endpoint, and the hand-offs between the
    event loop and the threads cost more than the query. Plain Core on a connection: these
    reads load no ORM objects."""
    try:
        limiter = _read_limiter.get()
    except LookupError:
        limiter = CapacityLimiter(READ_CONCURRENCY)
        _read_limiter.set(limiter)
    db = database_of(request)

    def in_thread() -> T:
        with db.engine.connect() as conn:
            return read(conn)

    return await anyio.to_thread.run_sync(in_thread, limiter=limiter)


async def token_cache(request: Request) -> TokenCache:
    cache: TokenCache = request.app.state.token_cache
    return cache


async def authenticate_bearer(app_state: Any, header: str) -> Principal:
    """The principal of an ``Authorization: Bearer`` header, through the token cache."""
    scheme, _, credentials = header.partition(" ")
    if not header:
        raise Unauthorized("missing Authorization: Bearer token")
    token = credentials.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    cache: TokenCache = app_state.token_cache
    remembered = cache.get(token)
    if remembered is not None:
        return remembered
    # When a remembered token's time is up, every request in flight with it misses at once
    # (dozens per worker at 64 connections) and each took a worker thread and a database read
    # while the rest queued behind them: the slowest requests by far. They share one lookup
    # now. Only under the same generation: a request that arrives after a clear starts its own.
    generation = cache.generation
    return await shared(
        cache.lookups,
        (digest(token), generation),
        lambda: _look_up(app_state.db, cache, token, generation),
    )


async def _look_up(db: Database, cache: TokenCache, token: str, generation: int) -> Principal:
    def lookup() -> tuple[Principal, datetime | None]:
        with db.read() as session:
            return auth.authenticate_token_until(session, plaintext=token)

    principal, expires_at = await run_in_threadpool(lookup)
    # Not remembered if a revocation cleared the cache meanwhile: this was read before it.
    cache.put(token, principal, expires_at, generation=generation)
    return principal


async def current_principal(request: Request) -> Principal:
    # opsloop.core.http_security.ApiAuthGate has checked the token before the body was read.
    refused: Exception | None = getattr(request.state, "auth_error", None)
    if refused is not None:
        raise refused
    checked: Principal | None = getattr(request.state, "principal", None)
    if checked is not None:
        return checked
    return await authenticate_bearer(request.app.state, request.headers.get("authorization", ""))


def require_role(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    # async on purpose: a plain function would cost a worker-thread hop on every request.
    # It calls current_principal itself rather than depending on it: one dependency fewer on
    # every authenticated route (each costs FastAPI a cache-key resolution per request).
    async def check(request: Request) -> Principal:
        principal = await current_principal(request)
        auth.require(principal, role)
        return principal

    return check


Viewer = Annotated[Principal, Depends(require_role(Role.viewer))]
Responder = Annotated[Principal, Depends(require_role(Role.responder))]
Approver = Annotated[Principal, Depends(require_role(Role.approver))]
Admin = Annotated[Principal, Depends(require_role(Role.admin))]
