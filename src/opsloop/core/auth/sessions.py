"""Web UI sessions: a random id in an HttpOnly cookie, stored only as a hash, with a CSRF token
bound to it. Logging in and out are audited like any other write."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth import throttle
from opsloop.core.auth.models import User, WebSession
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.secrets import digest, new_session_id, verify_password
from opsloop.core.auth.throttle import ThrottlePolicy
from opsloop.core.db import Database
from opsloop.core.errors import Unauthorized

# users.username is VARCHAR(64).
_USERNAME_LENGTH = 64


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    csrf_token: str
    display_name: str


ANONYMOUS = "anonymous"


def _could_be_a_username(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return name.isprintable() and len(name) <= _USERNAME_LENGTH


def login(
    db: Database,
    *,
    username: str,
    password: str,
    client_address: str,
    lifetime: timedelta,
    policy: ThrottlePolicy,
) -> str:
    """Check the password and open a session; returns the cookie value.

    Raises TooManyAttempts (429) while the account or the client address is locked, and
    Unauthorized for a wrong username or password.

    Failed attempts are audited without flooding the chain: the first failure of a burst
    against an existing account, and every lock (of an account or of an address). Failures
    for unknown usernames are only counted; they reach the trail through the address lock.
    """
    if not _could_be_a_username(username):
        # Looked up and counted as the empty name, which no account has: PostgreSQL refuses
        # a NUL byte in text, and such a name cannot match a user anyway.
        username = ""
    account, address = throttle.account_key(username), throttle.address_key(client_address)
    limits = {account: policy.max_failures, address: policy.max_failures_per_address}
    with db.write() as session:
        counted = throttle.count_attempt(session, limits=limits, policy=policy, now=clock.now())
        user = session.scalar(select(User).where(User.username == username))
        stored_hash = user.password_hash if user else None
    # Hashing (slow on purpose) runs outside any transaction; the attempt is already counted.
    ok = verify_password(stored_hash, password)
    with db.write() as session:
        now = clock.now()
        user = session.scalar(select(User).where(User.username == username))
        if ok and user is not None and not user.disabled and user.password_hash == stored_hash:
            throttle.give_back(
                session,
                account=account,
                address=address,
                address_limit=policy.max_failures_per_address,
                now=now,
            )
            return _open_session(session, user, now, lifetime)
        _audit_failure(session, user, client_address, counted)
    raise Unauthorized("wrong username or password")


def _open_session(session: Session, user: User, now: datetime, lifetime: timedelta) -> str:
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
    audit.record(
        session, principal=principal, action="auth.login", entity_type="user", entity_id=user.id
    )
    return cookie


def _audit_failure(
    session: Session, user: User | None, client_address: str, counted: list[throttle.Counted]
) -> None:
    # Never the password, nor a username that does not exist (it may be a mistyped password).
    actor = Principal(
        actor=user.username if user else ANONYMOUS,
        role=user.role if user else Role.viewer,
        user_id=user.id if user else None,
    )
    for count in counted:
        is_account = count.key.startswith("user:")
        if is_account and user is None:
            continue
        entity_type, entity_id = (
            ("user", user.id) if is_account and user else ("client_address", client_address)
        )
        details = {"failures": count.failures, "client_address": client_address}
        if count.locked:
            audit.record(
                session,
                principal=actor,
                action="auth.login_locked",
                entity_type=entity_type,
                entity_id=entity_id,
                after=details,
            )
        elif is_account and count.failures == 1:
            audit.record(
                session,
                principal=actor,
                action="auth.login_failed",
                entity_type=entity_type,
                entity_id=entity_id,
                after=details,
            )


def end_sessions(session: Session, *, user_id: int) -> int:
    """Sign the user out everywhere (after a password change, or when disabled)."""
    result = session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


_S, _U = WebSession.__table__.c, User.__table__.c
# Table columns, not an ORM entity: every page view runs this, and loading a User object cost
# more than the query.
_LOOKUP = select(
    _S.csrf_token, _S.expires_at, _U.id, _U.username, _U.role, _U.display_name, _U.disabled
).join(User.__table__, _U.id == _S.user_id)


def lookup(session: Session | Connection, *, cookie: str) -> ActiveSession | None:
    row = session.execute(_LOOKUP.where(_S.id_hash == digest(cookie))).first()
    if row is None or row.expires_at <= clock.now() or row.disabled:
        return None
    principal = Principal(actor=row.username, role=row.role, user_id=row.id)
    return ActiveSession(principal, row.csrf_token, row.display_name or row.username)


def logout(session: Session, *, cookie: str) -> None:
    row = session.scalar(select(WebSession).where(WebSession.id_hash == digest(cookie)))
    if row is None:
        return
    user = session.get(User, row.user_id)
    session.delete(row)
    if user is not None:
        principal = Principal(actor=user.username, role=user.role, user_id=user.id)
        audit.record(
            session,
            principal=principal,
            action="auth.logout",
            entity_type="user",
            entity_id=user.id,
        )
