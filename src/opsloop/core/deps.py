"""FastAPI dependencies shared by every domain's router: sessions and the caller's identity."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.errors import Unauthorized


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def read_session(db: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with db.read() as session:
        yield session


def write_session(db: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A transaction that commits only if the endpoint returns normally."""
    with db.write() as session:
        yield session


# scope="function": the transaction ends before the response is sent, so a client never sees a
# success for a write whose commit then failed.
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]


def current_principal(request: Request, session: ReadSession) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if not header:
        raise Unauthorized("missing Authorization: Bearer token")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    return auth.authenticate_token(session, credentials.strip())


def require_role(role: Role) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        auth.require(principal, role)
        return principal

    return check


Viewer = Annotated[Principal, Depends(require_role(Role.viewer))]
Responder = Annotated[Principal, Depends(require_role(Role.responder))]
Approver = Annotated[Principal, Depends(require_role(Role.approver))]
Admin = Annotated[Principal, Depends(require_role(Role.admin))]
