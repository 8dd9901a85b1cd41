"""Server-rendered pages (Jinja2 + htmx). Pages call services, like the API does."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.templating import Jinja2Templates

from opsloop import __version__
from opsloop.core import migrate
from opsloop.core.audit import service as audit
from opsloop.core.audit import verification as audit_verification
from opsloop.core.auth import service as auth
from opsloop.core.auth import sessions
from opsloop.core.auth.throttle import TooManyAttempts, policy_from
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.deps import get_database, get_settings
from opsloop.core.errors import OpsloopError
from opsloop.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfFailed,
    check_login_csrf,
    login_csrf_token,
)

templates = Jinja2Templates(
    env=Environment(
        loader=PackageLoader("opsloop.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )
)
router = APIRouter(include_in_schema=False)

# The domains of the loop, in the order the navigation shows them.
DOMAINS = [
    ("slos", "SLOs", "Monitor"),
    ("incidents", "Incidents", "Respond"),
    ("alerts", "Alerts", "Respond"),
    ("oncall", "On-call", "Respond"),
    ("reviews", "Reviews", "Review"),
    ("changes", "Changes", "Improve"),
]


class LoginRequired(Exception):
    pass


DB = Annotated[Database, Depends(get_database)]
Config = Annotated[Settings, Depends(get_settings)]


def current_session(request: Request, db: DB) -> sessions.ActiveSession:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with db.read() as session:
            active = sessions.lookup(session, cookie)
        if active is not None:
            return active
    raise LoginRequired


Active = Annotated[sessions.ActiveSession, Depends(current_session)]


def check_csrf(active: sessions.ActiveSession, submitted: str | None) -> None:
    if not submitted or not secrets.compare_digest(submitted, active.csrf_token):
        raise CsrfFailed


def render(
    request: Request,
    name: str,
    active: sessions.ActiveSession | None,
    status_code: int = 200,
    **ctx: Any,
) -> HTMLResponse:
    context = {"active": active, "domains": DOMAINS, "version": __version__, **ctx}
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after login is a phishing aid. Browsers read a
    # backslash as a slash and drop tabs and newlines, so those could also make "//host".
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, settings: Config, next: str = "/") -> Response:
    token = await login_csrf_token(request)
    response = render(request, "login.html", None, csrf_token=token, next=_safe_next(next))
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=settings.cookie_secure
    )
    return response


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    db: DB,
    settings: Config,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    expected = await check_login_csrf(request, csrf_token)
    policy = policy_from(
        max_failures=settings.login_max_failures,
        max_failures_per_address=settings.login_max_failures_per_address,
        lockout_seconds=settings.login_lockout_seconds,
        max_lockout_seconds=settings.login_max_lockout_seconds,
    )
    try:
        cookie = await run_in_threadpool(
            lambda: sessions.login(
                db,
                username=username.strip(),
                password=password,
                client_address=request.client.host if request.client else "unknown",
                lifetime=timedelta(hours=settings.session_hours),
                policy=policy,
            )
        )
    except OpsloopError as exc:
        page = render(
            request,
            "login.html",
            None,
            status_code=exc.status,
            csrf_token=expected,
            next=_safe_next(next),
            error=exc.message,
            username=username,
        )
        if isinstance(exc, TooManyAttempts):
            page.headers["Retry-After"] = str(exc.retry_after_seconds)
        return page
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=settings.session_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, db: DB, _: Active) -> Response:
    # The session's CSRF token (field or X-CSRF-Token header) was checked by require_csrf.
    with db.write() as session:
        sessions.logout(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, db: DB, active: Active) -> Response:
    with db.read() as session:
        counts = auth.counts(session)
        audit_count = audit.count(session)
        head_seq, head_hash = audit.head(session)
        recent, _ = audit.page(
            session, audit.AuditFilter(), after_seq=max(head_seq - 8, 0), limit=8
        )
    return render(
        request,
        "overview.html",
        active,
        counts=counts,
        audit_count=audit_count,
        head_seq=head_seq,
        head_hash=head_hash,
        recent=list(reversed(recent)),
        backend=db.dialect,
        schema=migrate.current_revision(db.engine),
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, db: DB, active: Active, cursor: int = 0) -> Response:
    with db.read() as session:
        rows, next_seq = audit.page(session, audit.AuditFilter(), after_seq=cursor, limit=50)
    template = "audit_rows.html" if request.headers.get("hx-request") else "audit.html"
    return render(request, template, active, rows=rows, next_seq=next_seq)


@router.get("/audit/verify", response_class=HTMLResponse)
def audit_verify(request: Request, db: DB, active: Active) -> Response:
    result = audit_verification.chain_status(db)
    return render(request, "audit_verify.html", active, result=result)


@router.get("/{domain}", response_class=HTMLResponse)
def domain_placeholder(request: Request, domain: str, active: Active) -> Response:
    match = next((d for d in DOMAINS if d[0] == domain), None)
    if match is None:
        return render(request, "not_found.html", active, status_code=404)
    return render(request, "domain.html", active, domain=match)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, _: CsrfFailed) -> Response:
        return HTMLResponse(
            "<h1>403</h1><p>The form was stale or not sent by opsloop. "
            "Reload the page and try again.</p>",
            status_code=403,
        )
