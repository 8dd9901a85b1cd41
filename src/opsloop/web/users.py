"""Users and API tokens (admin): the same service calls as ``/api/v1/users`` and ``/tokens``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.core.auth import service as auth
from opsloop.core.auth.cache import TokenCache
from opsloop.core.auth.roles import Role
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.deps import token_cache
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.web.routes import DB, form_error, render, signed_in_as, writing_as

router = APIRouter(include_in_schema=False)
USERS_ROLE = Role.admin
Admin = Annotated[ActiveSession, Depends(signed_in_as(USERS_ROLE))]
AdminWrite = Annotated[ActiveSession, Depends(writing_as(USERS_ROLE))]
Cache = Annotated[TokenCache, Depends(token_cache)]


def _page(
    request: Request, db: DB, active: ActiveSession, status_code: int = 200, **ctx: Any
) -> Response:
    with db.read() as session:
        users = auth.list_users(session)
        tokens = auth.list_tokens(session, principal=active.principal)
    return render(request, "users.html", active, status_code, users=users, tokens=tokens, **ctx)


def _done(anchor: str = "") -> Response:
    return RedirectResponse(f"/users{anchor}", status_code=303)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, db: DB, active: Admin) -> Response:
    return _page(request, db, active)


@router.post("/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    db: DB,
    active: AdminWrite,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        with db.write() as session:
            user = auth.create_user(
                session,
                principal=active.principal,
                username=username.strip(),
                role=auth.parse_role(role),
                display_name=display_name.strip(),
                password=password or None,
            )
            user_id = user.id
    except OpsloopError as exc:
        form = {"username": username, "display_name": display_name, "role": role}
        return _page(request, db, active, exc.status, new_user=form, **form_error(exc))
    return _done(f"#user-{user_id}")


@router.post("/users/{username}", response_class=HTMLResponse)
def update_user(
    request: Request,
    db: DB,
    active: AdminWrite,
    cache: Cache,
    username: str,
    role: Annotated[str, Form()] = "",
    disabled: Annotated[str, Form()] = "",
) -> Response:
    try:
        if disabled not in ("", "true", "false"):
            raise ValidationFailed("disabled must be true or false", field="disabled")
        with db.write() as session:
            user = auth.update_user(
                session,
                principal=active.principal,
                username=username,
                role=auth.parse_role(role) if role else None,
                disabled=(disabled == "true") if disabled else None,
            )
            user_id = user.id
    except OpsloopError as exc:
        return _page(request, db, active, exc.status, **form_error(exc))
    finally:
        cache.clear()  # a disabled or demoted user loses API access now, as with the API
    return _done(f"#user-{user_id}")


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    db: DB,
    active: AdminWrite,
    user: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
    name: Annotated[str, Form()] = "",
    expires_in_days: Annotated[str, Form()] = "",
) -> Response:
    form = {"user": user, "role": role, "name": name, "expires_in_days": expires_in_days}
    try:
        days = expires_in_days.strip()
        if days and not (days.isascii() and days.isdigit() and 0 < int(days) <= 3650):
            raise ValidationFailed(
                "expires in days must be a whole number from 1 to 3650", field="expires_in_days"
            )
        with db.write() as session:
            token, plaintext = auth.create_token(
                session,
                principal=active.principal,
                username=user.strip(),
                role=auth.parse_role(role),
                name=name.strip(),
                expires_in=timedelta(days=int(days)) if days else None,
            )
            created = {"id": token.id, "name": token.name, "user": user.strip()}
    except OpsloopError as exc:
        return _page(request, db, active, exc.status, new_token=form, **form_error(exc))
    # The only time the plaintext is shown: opsloop keeps only its hash.
    return _page(request, db, active, 201, created_token=created, plaintext=plaintext)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(
    request: Request, db: DB, active: AdminWrite, cache: Cache, token_id: int
) -> Response:
    try:
        with db.write() as session:
            auth.revoke_token(session, principal=active.principal, token_id=token_id)
    except OpsloopError as exc:
        return _page(request, db, active, exc.status, **form_error(exc))
    finally:
        cache.clear()
    return _done(f"#token-{token_id}")
