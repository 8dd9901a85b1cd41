"""The page of which services' SLO page alerts declare incidents by themselves; responders
change a service's switch (the API route's role)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.incidents import from_slos
from opsloop.web.routes import DB, Active, form_error, may, render, writing_as

router = APIRouter(include_in_schema=False)
Writer = Annotated[ActiveSession, Depends(writing_as(from_slos.SETTING_ROLE))]
CHOICES = {"on": True, "off": False, "default": None}


def _page(
    request: Request, db: DB, active: ActiveSession, status: int = 200, **ctx: Any
) -> Response:
    with db.read() as session:
        states = from_slos.declaring_services(session)
    return render(
        request,
        "incident_settings.html",
        active,
        status,
        states=states,
        may_edit=may(active, from_slos.SETTING_ROLE),
        form=ctx.pop("form", {}),
        **ctx,
    )


@router.get("/incidents/settings", response_class=HTMLResponse)
def settings_page(request: Request, db: DB, active: Active) -> Response:
    return _page(request, db, active)


@router.post("/incidents/settings", response_class=HTMLResponse)
def set_switch(
    request: Request,
    db: DB,
    active: Writer,
    service: Annotated[str, Form()] = "",
    auto_declare: Annotated[str, Form()] = "",
) -> Response:
    form = {"service": service.strip(), "auto_declare": auto_declare}
    try:
        if auto_declare not in CHOICES:
            raise ValidationFailed("auto_declare: on, off or default", field="auto_declare")
        with db.write() as session:
            from_slos.set_auto_declare(
                session,
                principal=active.principal,
                service=form["service"],
                enabled=CHOICES[auto_declare],
            )
    except OpsloopError as exc:
        return _page(request, db, active, exc.status, form=form, **form_error(exc))
    return RedirectResponse("/incidents/settings", status_code=303)
