from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from opsloop.core.auth import service
from opsloop.core.auth.cache import TokenCache, clear_after_commit
from opsloop.core.auth.models import ApiToken
from opsloop.core.auth.schemas import (
    USERNAME_PATTERN,
    Me,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from opsloop.core.deps import Admin, ReadSession, Viewer, WriteSession, token_cache
from opsloop.core.errors import Forbidden, NotFound
from opsloop.core.schemas import (
    AUTHENTICATED,
    WITH_BODY,
    Id,
    Page,
    PageQuery,
    errors,
    page_of,
    plain_params,
)

router = APIRouter(
    prefix="/api/v1",
    tags=["users and tokens"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
Cache = Annotated[TokenCache, Depends(token_cache)]
UsernamePath = Annotated[str, Path(max_length=64, pattern=USERNAME_PATTERN)]
UsernameQuery = Annotated[str | None, Query(max_length=64, pattern=USERNAME_PATTERN)]


def _token_out(token: ApiToken, username: str) -> TokenOut:
    return TokenOut(
        id=token.id,
        user=username,
        name=token.name,
        prefix=token.prefix,
        role=token.role,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
    )


@router.get("/me", response_model=Me)
async def whoami(principal: Viewer) -> Me:
    return Me(username=principal.actor, role=principal.role)


@router.get("/users", response_model=Page[UserOut])
def list_users(_: Admin, session: ReadSession, paging: PageQuery) -> Page[UserOut]:
    rows = service.list_users(session, after_id=paging.after, limit=paging.limit + 1)
    users = [UserOut.model_validate(u) for u in rows]
    return page_of(users, lambda u: u.id, paging)


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses={**WITH_BODY, **errors(409)},
)
def create_user(body: UserCreate, principal: Admin, session: WriteSession) -> UserOut:
    user = service.create_user(
        session,
        principal=principal,
        username=body.username,
        role=body.role,
        display_name=body.display_name,
        password=body.password,
    )
    return UserOut.model_validate(user)


@router.patch("/users/{username}", response_model=UserOut, responses={**WITH_BODY, **errors(404)})
def update_user(
    username: UsernamePath, body: UserUpdate, principal: Admin, session: WriteSession, cache: Cache
) -> UserOut:
    user = service.update_user(
        session,
        principal=principal,
        username=username,
        role=body.role,
        disabled=body.disabled,
        display_name=body.display_name,
    )
    clear_after_commit(session, cache)  # a disabled or demoted user loses access now
    return UserOut.model_validate(user)


@router.get("/tokens", response_model=Page[TokenOut])
def list_tokens(
    principal: Viewer, session: ReadSession, paging: PageQuery, user: UsernameQuery = None
) -> Page[TokenOut]:
    rows = service.list_tokens(
        session, principal=principal, username=user, after_id=paging.after, limit=paging.limit + 1
    )
    return page_of([_token_out(t, u) for t, u in rows], lambda t: t.id, paging)


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    responses={**WITH_BODY, **errors(404)},
)
def create_token(body: TokenCreate, principal: Viewer, session: WriteSession) -> TokenCreated:
    username = body.user or principal.actor
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    token, plaintext = service.create_token(
        session,
        principal=principal,
        username=username,
        role=body.role,
        name=body.name,
        expires_in=expires,
    )
    return TokenCreated(**_token_out(token, username).model_dump(), token=plaintext)


@router.delete("/tokens/{token_id:int}", response_model=TokenOut, responses=errors(404))
def revoke_token(token_id: Id, principal: Viewer, session: WriteSession, cache: Cache) -> TokenOut:
    try:
        token, username = service.revoke_token(session, principal=principal, token_id=token_id)
    except Forbidden:
        # Someone else's token is answered like a missing one: no probing for which ids exist.
        raise NotFound(f"no token with id {token_id}", field="id") from None
    clear_after_commit(session, cache)
    return _token_out(token, username)
