"""Puts the web UI together: the shell's pages, the domains' pages, error pages, the favicon."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import Response

from opsloop.web import account, audit_pages, errors, overview, routes, users
from opsloop.web.security import require_csrf

_favicon = APIRouter(include_in_schema=False)


@_favicon.get("/favicon.ico")
def favicon() -> Response:
    # Browsers ask for /favicon.ico before they read the page's <link rel="icon">.
    svg = files("opsloop.web").joinpath("static/favicon.svg").read_bytes()
    return Response(
        svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


def install(app: FastAPI, domain_routers: list[APIRouter]) -> None:
    """Call after the API's error handlers are installed. Every web router checks the CSRF
    token of unsafe requests from a signed-in browser (form field or X-CSRF-Token header)."""
    for router in [
        _favicon,
        routes.router,
        overview.router,
        audit_pages.router,
        users.router,
        account.router,
        *domain_routers,
        routes.catch_all,
    ]:
        app.include_router(router, dependencies=[Depends(require_csrf)])
    errors.install(app)
