"""One's own account: every signed-in user may change their password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import Role
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.web.routes import DB, Active, form_error, render, writing_as

router = APIRouter(include_in_schema=False)
Writer = Annotated[ActiveSession, Depends(writing_as(Role.viewer))]


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, active: Active) -> Response:
    return render(request, "account.html", active)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    db: DB,
    active: Writer,
    current: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    try:
        if password != confirm:
            raise ValidationFailed("the new passwords do not match", field="confirm")
        with db.write() as session:
            # Someone at an unlocked screen must not be able to take the account over.
            if not auth.password_matches(
                session, username=active.principal.actor, password=current
            ):
                raise ValidationFailed("the current password is wrong", field="current")
            auth.set_password(
                session,
                principal=active.principal,
                username=active.principal.actor,
                password=password,
            )
    except OpsloopError as exc:
        return render(request, "account.html", active, exc.status, **form_error(exc))
    return render(request, "account.html", active, done=True)
