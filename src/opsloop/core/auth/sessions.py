"""Web UI sessions: a random id in an HttpOnly cookie, stored only as a hash, with a CSRF token
bound to it. Logging in and out are audited like any other write."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.models import User, WebSession
from opsloop.core.auth.roles import Principal
from opsloop.core.auth.secrets import digest, new_session_id, verify_password
from opsloop.core.errors import Unauthorized


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    csrf_token: str
    display_name: str


def login(session: Session, username: str, password: str, lifetime: timedelta) -> str:
    """Check the password and open a session; returns the cookie value."""
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        raise Unauthorized("wrong username or password")
    now = clock.now()
    cookie = new_session_id()
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    session.add(
        WebSession(
            id_hash=digest(cookie),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    principal = Principal(actor=user.username, role=user.role, user_id=user.id)
    audit.record(session, principal, "auth.login", "user", user.id)
    return cookie


def lookup(session: Session, cookie: str) -> ActiveSession | None:
    row = session.execute(
        select(WebSession.csrf_token, WebSession.expires_at, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.id_hash == digest(cookie))
    ).first()
    if row is None:
        return None
    csrf, expires_at, user = row
    if expires_at <= clock.now() or user.disabled:
        return None
    principal = Principal(actor=user.username, role=user.role, user_id=user.id)
    return ActiveSession(principal, csrf, user.display_name or user.username)


def logout(session: Session, cookie: str) -> None:
    row = session.scalar(select(WebSession).where(WebSession.id_hash == digest(cookie)))
    if row is None:
        return
    user = session.get(User, row.user_id)
    session.delete(row)
    if user is not None:
        principal = Principal(actor=user.username, role=user.role, user_id=user.id)
        audit.record(session, principal, "auth.logout", "user", user.id)
