"""Users and API tokens: creation, changes and authentication. Every write is audited."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth import sessions
from opsloop.core.auth.models import ApiToken, User
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.secrets import (
    TOKEN_PREFIX,
    digest,
    hash_password,
    new_token,
    verify_password,
)
from opsloop.core.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD_LENGTH = 10


def require(principal: Principal, role: Role) -> None:
    if not principal.allows(role):
        raise Forbidden(f"this needs the {role.value} role; you have {principal.role.value}")


def parse_role(value: str, field: str = "role") -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationFailed(
            f"unknown role {value!r}; use one of {allowed}", field=field
        ) from None


def _user_fields(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "disabled": user.disabled,
    }


def get_user(session: Session, *, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}", field="username")
    return user


def list_users(
    session: Session, *, after_id: int | None = None, limit: int | None = None
) -> list[User]:
    """Users in id order; the API reads a page (``limit`` after ``after_id``), the CLI all."""
    query = select(User).order_by(User.id).limit(limit)
    if after_id is not None:
        query = query.where(User.id > after_id)
    return list(session.scalars(query))


def create_user(
    session: Session,
    *,
    principal: Principal,
    username: str,
    role: Role,
    display_name: str = "",
    password: str | None = None,
) -> User:
    require(principal, Role.admin)
    if not _USERNAME.match(username):
        raise ValidationFailed(
            "username must be 1-64 characters of a-z, 0-9, '.', '_' or '-'", field="username"
        )
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists", field="username")
    now = clock.now()
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=_checked_password_hash(password) if password is not None else None,
        disabled=False,
        created_at=now,
        updated_at=now,
    )
    try:
        # A savepoint, so that losing a race with a concurrent create (the pre-check above
        # passed in both) is a 409 and leaves the transaction usable, not a 500.
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise Conflict(f"user {username!r} already exists", field="username") from None
    audit.record(
        session,
        principal=principal,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        after=_user_fields(user),
    )
    return user


def update_user(
    session: Session,
    *,
    principal: Principal,
    username: str,
    role: Role | None = None,
    disabled: bool | None = None,
    display_name: str | None = None,
) -> User:
    require(principal, Role.admin)
    user = get_user(session, username=username)
    before = _user_fields(user)
    loses_admin = (role is not None and role != Role.admin) or disabled is True
    if loses_admin and user.role == Role.admin.value and not user.disabled:
        _keep_an_admin(session, user)
    if role is not None:
        user.role = role
    if disabled is not None:
        if disabled and user.id == principal.user_id:
            raise ValidationFailed("you cannot disable your own account", field="disabled")
        if disabled and not user.disabled:
            # Re-enabling the user later must not bring these sessions back.
            sessions.end_sessions(session, user_id=user.id)
        user.disabled = disabled
    if display_name is not None:
        user.display_name = display_name
    after = _user_fields(user)
    if after != before:
        user.updated_at = clock.now()
        audit.record(
            session,
            principal=principal,
            action="user.update",
            entity_type="user",
            entity_id=user.id,
            before=before,
            after=after,
        )
    return user


def set_password(session: Session, *, principal: Principal, username: str, password: str) -> None:
    user = get_user(session, username=username)
    if user.id != principal.user_id:
        require(principal, Role.admin)
    had_password = user.password_hash is not None
    user.password_hash = _checked_password_hash(password)
    user.updated_at = clock.now()
    # Whoever knew the old password is signed out of the web UI. API tokens are separate
    # credentials with their own lifetime and revocation; they stay valid.
    ended = sessions.end_sessions(session, user_id=user.id)
    # The audit trail notes that the password changed, never any form of the password.
    audit.record(
        session,
        principal=principal,
        action="user.set_password",
        entity_type="user",
        entity_id=user.id,
        before={"password": "set" if had_password else "unset"},
        after={"password": "changed", "sessions_ended": ended},
    )


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to demote or disable the last enabled admin."""
    # FOR UPDATE on every enabled admin: two admins demoting each other at once are serialised
    # on PostgreSQL, and the second then counts what the first left (SQLite writers are serial).
    admins = session.scalars(
        select(User.id)
        .where(User.role == Role.admin.value, User.disabled.is_(False))
        .order_by(User.id)
        .with_for_update()
    ).all()
    if [admin for admin in admins if admin != user.id]:
        return
    raise Conflict(
        f"{user.username!r} is the last enabled admin; make another user admin first",
        field="role",
    )


def _checked_password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    return hash_password(password)


def _token_fields(token: ApiToken, username: str) -> dict[str, Any]:
    return {
        "user": username,
        "name": token.name,
        "prefix": token.prefix,
        "role": token.role,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


def create_token(
    session: Session,
    *,
    principal: Principal,
    username: str,
    role: Role,
    name: str = "",
    expires_in: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its only plaintext copy."""
    user = get_user(session, username=username)
    if user.id != principal.user_id:
        require(principal, Role.admin)
    if not user.role.allows(role):
        raise ValidationFailed(
            f"user {username!r} has role {user.role}; a token cannot grant more", field="role"
        )
    if not principal.allows(role):
        raise Forbidden(f"you cannot create a {role.value} token with role {principal.role}")
    if user.disabled:
        raise ValidationFailed(f"user {username!r} is disabled", field="user")
    if expires_in is not None and expires_in <= timedelta():
        raise ValidationFailed("expiry must be in the future", field="expires_in_days")
    plaintext = new_token()
    now = clock.now()
    token = ApiToken(
        user_id=user.id,
        name=name or f"{username}-{now:%Y%m%d%H%M%S}",
        prefix=plaintext[: len(TOKEN_PREFIX) + 8],
        token_hash=digest(plaintext),
        role=role,
        created_at=now,
        expires_at=now + expires_in if expires_in else None,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="token.create",
        entity_type="api_token",
        entity_id=token.id,
        after=_token_fields(token, username),
    )
    return token, plaintext


def list_tokens(
    session: Session,
    *,
    principal: Principal,
    username: str | None = None,
    after_id: int | None = None,
    limit: int | None = None,
) -> list[tuple[ApiToken, str]]:
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
    if username is not None:
        if username != principal.actor:
            require(principal, Role.admin)
        query = query.where(User.username == username)
    elif not principal.allows(Role.admin):
        query = query.where(ApiToken.user_id == principal.user_id)
    if after_id is not None:
        query = query.where(ApiToken.id > after_id)
    return [(t, u) for t, u in session.execute(query.order_by(ApiToken.id).limit(limit))]


def revoke_token(session: Session, *, principal: Principal, token_id: int) -> tuple[ApiToken, str]:
    row = session.execute(
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.id == token_id)
    ).first()
    if row is None:
        raise NotFound(f"no token with id {token_id}", field="id")
    token, username = row
    if token.user_id != principal.user_id:
        require(principal, Role.admin)
    if token.revoked_at is None:
        before = _token_fields(token, username)
        token.revoked_at = clock.now()
        audit.record(
            session,
            principal=principal,
            action="token.revoke",
            entity_type="api_token",
            entity_id=token.id,
            before=before,
            after=_token_fields(token, username),
        )
    return token, username


def authenticate_token_until(
    session: Session, *, plaintext: str
) -> tuple[Principal, datetime | None]:
    """The token's principal and when the token expires (None: it does not)."""
    if not plaintext.startswith(TOKEN_PREFIX):
        raise Unauthorized("malformed token")
    row = session.execute(
        select(ApiToken.role, ApiToken.expires_at, ApiToken.revoked_at, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest(plaintext))
    ).first()
    if row is None:
        raise Unauthorized("unknown token")
    token_role, expires_at, revoked_at, user = row
    if revoked_at is not None:
        raise Unauthorized("token revoked")
    if expires_at is not None and expires_at <= clock.now():
        raise Unauthorized("token expired")
    if user.disabled:
        raise Unauthorized("user disabled")
    # A user demoted after the token was made must not keep the old powers through it.
    role = min(token_role, user.role, key=lambda r: r.rank)
    return Principal(actor=user.username, role=role, user_id=user.id), expires_at


def counts(session: Session) -> dict[str, int]:
    now = clock.now()
    active_tokens = select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))
    active_tokens = active_tokens.where(
        (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now)
    )
    return {
        "users": session.scalar(select(func.count()).select_from(User)) or 0,
        "active_tokens": session.scalar(active_tokens) or 0,
    }


def password_matches(session: Session, *, username: str, password: str) -> bool:
    """Whether ``password`` is the user's current one (False for unknown or password-less users)."""
    user = session.scalar(select(User).where(User.username == username))
    return verify_password(user.password_hash if user else None, password)
