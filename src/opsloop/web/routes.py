"""The web shell: layout, sign-in, the session, CSRF and role checks every page shares.

Pages call services, like the API does; a domain's pages live in the domain and use the helpers
here. Each page asks for the same role as the API route that does the same thing, through the
same check (``auth.require``), so the UI never shows more than the API would.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from starlette.templating import Jinja2Templates

from opsloop import __version__
from opsloop.core.audit import service as audit
from opsloop.core.auth import service as auth
from opsloop.core.auth import sessions
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.deps import get_database, get_settings
from opsloop.core.errors import OpsloopError

SESSION_COOKIE = "opsloop_session"
LOGIN_CSRF_COOKIE = "opsloop_login_csrf"

# Each domain keeps its page templates next to its code.
templates = Jinja2Templates(
    env=Environment(
        loader=ChoiceLoader(
            [PackageLoader("opsloop.web", "templates"), PackageLoader("opsloop.slo", "templates")]
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
    Domain("incidents", "Incidents", "Respond", available=False),
    Domain("alerts", "Alerts", "Respond", available=False),
    Domain("oncall", "On-call", "Respond", available=False),
    Domain("reviews", "Reviews", "Review", available=False),
    Domain("changes", "Changes", "Improve", available=False),
]


class LoginRequired(Exception):
    pass


class CsrfFailed(Exception):
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


def optional_session(request: Request) -> sessions.ActiveSession | None:
    """The signed-in session, if any: error pages keep the navigation for signed-in users."""
    try:
        return current_session(request, get_database(request))
    except LoginRequired:
        return None


Active = Annotated[sessions.ActiveSession, Depends(current_session)]


def check_csrf(active: sessions.ActiveSession, submitted: str | None) -> None:
    """The one place the web compares a submitted CSRF token with the session's."""
    if not submitted or not secrets.compare_digest(submitted, active.csrf_token):
        raise CsrfFailed


async def csrf_checked(request: Request, active: Active) -> sessions.ActiveSession:
    """A signed-in session whose request carries its CSRF token (form field or htmx header)."""
    submitted = request.headers.get("x-csrf-token")
    if not submitted:
        value = (await request.form()).get("csrf_token")
        submitted = value if isinstance(value, str) else None
    check_csrf(active, submitted)
    return active


def signed_in_as(role: Role) -> Callable[[sessions.ActiveSession], sessions.ActiveSession]:
    """A page that needs ``role``: the same check (and message) as the API's."""

    def check(active: Active) -> sessions.ActiveSession:
        auth.require(active.principal, role)
        return active

    return check


def writing_as(role: Role) -> Callable[..., Awaitable[sessions.ActiveSession]]:
    """A form post that needs ``role``: signed in, CSRF token checked, then the role."""

    async def check(
        active: Annotated[sessions.ActiveSession, Depends(csrf_checked)],
    ) -> sessions.ActiveSession:
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
def login_page(request: Request, next: str = "/") -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "login.html", None, csrf_token=token, next=_safe_next(next))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    db: DB,
    settings: Config,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        raise CsrfFailed
    try:
        with db.write() as session:
            cookie = sessions.login(
                session, username.strip(), password, timedelta(hours=settings.session_hours)
            )
    except OpsloopError as exc:
        return render(
            request,
            "login.html",
            None,
            status_code=exc.status,
            csrf_token=expected,
            next=_safe_next(next),
            error=exc.message,
            username=username,
        )
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
def logout(
    request: Request, db: DB, active: Active, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(active, csrf_token)
    with db.write() as session:
        sessions.logout(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@catch_all.get("/{domain}", response_class=HTMLResponse)
def domain_placeholder(request: Request, domain: str, active: Active) -> Response:
    match = next((d for d in DOMAINS if d.slug == domain and not d.available), None)
    if match is None:
        return render(request, "not_found.html", active, status_code=404)
    return render(request, "domain.html", active, domain=match)
