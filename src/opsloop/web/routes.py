"""The web shell: layout, sign-in, the session, CSRF and role checks every page shares.

Pages call services, like the API does; a domain's pages live in the domain and use the helpers
here. Each page asks for the same role as the API route that does the same thing, through the
same check (``auth.require``), so the UI never shows more than the API would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.templating import Jinja2Templates

from opsloop import __version__
from opsloop.core.audit import service as audit
from opsloop.core.auth import service as auth
from opsloop.core.auth import sessions
from opsloop.core.auth.roles import Role
from opsloop.core.auth.throttle import TooManyAttempts, policy_from
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.deps import database_of, get_database, get_settings, run_read
from opsloop.core.errors import OpsloopError
from opsloop.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_login_csrf,
    login_csrf_token,
)

# Each domain keeps its page templates next to its code.
templates = Jinja2Templates(
    env=Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("opsloop.web", "templates"),
                PackageLoader("opsloop.slo", "templates"),
                PackageLoader("opsloop.services", "templates"),
                PackageLoader("opsloop.notifications", "templates"),
                PackageLoader("opsloop.incidents", "templates"),
                PackageLoader("opsloop.alerts", "templates"),
                PackageLoader("opsloop.pirs", "templates"),
                PackageLoader("opsloop.actions", "templates"),
                PackageLoader("opsloop.changes", "templates"),
            ]
        ),
        autoescape=select_autoescape(["html"]),
    )
)
router = APIRouter(include_in_schema=False)
# The placeholder pages answer any one-segment path, so they are included after every other page.
catch_all = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Domain:
    slug: str
    label: str
    stage: str
    available: bool


# The domains of the loop, in the order the navigation shows them.
DOMAINS = [
    Domain("slos", "SLOs", "Monitor", available=True),
    Domain("services", "Services", "Monitor", available=True),
    Domain("incidents", "Incidents", "Respond", available=True),
    Domain("alerts", "Alerts", "Respond", available=True),
    Domain("oncall", "On-call", "Respond", available=False),
    Domain("pirs", "PIRs", "Review", available=True),
    Domain("reliability", "Reliability", "Review", available=True),
    Domain("reviews", "Reviews", "Review", available=False),
    Domain("action-items", "Action items", "Review", available=True),
    Domain("changes", "Changes", "Improve", available=True),
    Domain("notifications", "Notifications", "Respond", available=True),
]


class LoginRequired(Exception):
    pass


DB = Annotated[Database, Depends(get_database)]
Config = Annotated[Settings, Depends(get_settings)]


async def current_session(request: Request) -> sessions.ActiveSession:
    checked: sessions.ActiveSession | None = getattr(request.state, "web_session", None)
    if checked is not None:  # looked up already by require_csrf for this request
        return checked
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        active = await run_read(request, lambda conn: sessions.lookup(conn, cookie=cookie))
        if active is not None:
            return active
    raise LoginRequired


def optional_session(request: Request) -> sessions.ActiveSession | None:
    """The signed-in session, if any: error pages keep the navigation for signed-in users.
    (Error handlers are synchronous: this one reads in place.)"""
    checked: sessions.ActiveSession | None = getattr(request.state, "web_session", None)
    if checked is not None:
        return checked
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with database_of(request).read() as session:
        return sessions.lookup(session, cookie=cookie)


Active = Annotated[sessions.ActiveSession, Depends(current_session)]


def signed_in_as(
    role: Role,
) -> Callable[[sessions.ActiveSession], Awaitable[sessions.ActiveSession]]:
    """A page that needs ``role``: the same check (and message) as the API's."""

    async def check(active: Active) -> sessions.ActiveSession:
        auth.require(active.principal, role)
        return active

    return check


def writing_as(role: Role) -> Callable[..., Awaitable[sessions.ActiveSession]]:
    """A form post that needs ``role``: signed in, then the role. Every web router checks the
    session's CSRF token first (``require_csrf``, attached in opsloop.web.shell)."""

    async def check(active: Active) -> sessions.ActiveSession:
        auth.require(active.principal, role)
        return active

    return check


def may(active: sessions.ActiveSession | None, role: Role) -> bool:
    return active is not None and active.principal.allows(role)


def render(
    request: Request,
    name: str,
    active: sessions.ActiveSession | None,
    status_code: int = 200,
    **ctx: Any,
) -> HTMLResponse:
    context = {
        "active": active,
        "domains": DOMAINS,
        "version": __version__,
        "roles": Role,
        "can": lambda role: may(active, role),
        "audit_role": audit.READ_ROLE,
        **ctx,
    }
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    if active is not None:
        # After sign-out, Back must not show a signed-in page from the browser's cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def form_error(exc: OpsloopError) -> dict[str, Any]:
    """What a re-rendered form needs to show a service's refusal next to the field."""
    return {"error": exc.message, "error_field": exc.field}


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
        sessions.logout(session, cookie=request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@catch_all.get("/{domain}", response_class=HTMLResponse)
def domain_placeholder(request: Request, domain: str, active: Active) -> Response:
    match = next((d for d in DOMAINS if d.slug == domain and not d.available), None)
    if match is None:
        return render(request, "not_found.html", active, status_code=404)
    return render(request, "domain.html", active, domain=match)
