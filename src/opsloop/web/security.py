"""CSRF protection for the web UI.

Two kinds of token:

- the login form's token, made before anyone is signed in: a nonce signed with the server secret
  (opsloop.core.auth.signing), sent both as a cookie and as a form field, so neither a cookie an
  attacker managed to plant nor a pair the attacker invented is accepted;
- the session's token, for every unsafe request (POST, PUT, PATCH, DELETE) of a signed-in
  browser: the form field ``csrf_token`` or the ``X-CSRF-Token`` header (htmx sends it, see
  base.html). ``require_csrf`` checks it; app.py attaches it to every web router.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from opsloop.core.auth import sessions, signing
from opsloop.core.config import Settings
from opsloop.core.db import Database

SESSION_COOKIE = "opsloop_session"
LOGIN_CSRF_COOKIE = "opsloop_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
_LOGIN_PURPOSE = "login-csrf"
_LOGIN_TOKEN_AGE = timedelta(hours=12)
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# The login form carries the login token (no session yet); it is checked on its own.
_EXEMPT = {"/login"}


class CsrfFailed(Exception):
    pass


async def _secret(request: Request) -> bytes:
    state = request.app.state
    cached: bytes | None = getattr(state, "signing_secret", None)
    if cached is None:
        settings: Settings = state.settings
        db: Database = state.db
        override = settings.secret_key.get_secret_value()
        cached = await run_in_threadpool(signing.server_secret, db, override)
        state.signing_secret = cached
    return cached


async def login_csrf_token(request: Request) -> str:
    """The login cookie's token if this server signed it and it is fresh, else a new one."""
    secret = await _secret(request)
    current = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if current and signing.valid_signed_token(secret, _LOGIN_PURPOSE, current, _LOGIN_TOKEN_AGE):
        return current
    return signing.new_signed_token(secret, _LOGIN_PURPOSE)


async def check_login_csrf(request: Request, submitted: str) -> str:
    """The checked token; raises CsrfFailed unless cookie and field match and we signed it."""
    secret = await _secret(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if (
        not expected
        or not secrets.compare_digest(expected, submitted)
        or not signing.valid_signed_token(secret, _LOGIN_PURPOSE, expected, _LOGIN_TOKEN_AGE)
    ):
        raise CsrfFailed
    return expected


async def require_csrf(request: Request) -> None:
    """For every unsafe request of a signed-in browser: the session's CSRF token must come
    along. Requests without a live session pass; the page's own login check turns them away."""
    if request.method not in _UNSAFE or request.url.path in _EXEMPT:
        return
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return
    db: Database = request.app.state.db

    def lookup() -> sessions.ActiveSession | None:
        with db.read() as session:
            return sessions.lookup(session, cookie=cookie)

    active = await run_in_threadpool(lookup)
    if active is None:
        return
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not submitted or not secrets.compare_digest(submitted, active.csrf_token):
        raise CsrfFailed
    request.state.web_session = active  # the page's own session check reuses this lookup
