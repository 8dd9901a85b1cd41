"""The review page, shared by the page and the forms that re-render it."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import NotFound, OpsloopError
from opsloop.incidents import service as incidents
from opsloop.pirs import reading, render
from opsloop.pirs import service as pirs
from opsloop.web.routes import DB, form_error, may
from opsloop.web.routes import render as page


def render_pir(
    request: Request,
    db: DB,
    active: ActiveSession,
    key: str,
    policy: Any,
    *,
    number: int | None = None,
    failed: OpsloopError | None = None,
) -> Response:
    """A review as its rendered document, with its state, revisions and the controls a
    responder gets; without a review yet, the page to start one."""
    with db.read() as session:
        incident = incidents.get_incident(session, key=key)
        try:
            found = pirs.get_pir(session, key=key, policy=policy)
        except NotFound:
            if number is not None:
                raise
            return page(
                request,
                "pir_detail.html",
                active,
                failed.status if failed else 200,
                incident=incident,
                pir=None,
                may_write=may(active, pirs.WRITE_ROLE),
                **(form_error(failed) if failed else {}),
            )
        doc = reading.document(session, key=key, number=number, policy=policy)
        kept = reading.revisions(session, key=key, policy=policy)
    return page(
        request,
        "pir_detail.html",
        active,
        failed.status if failed else 200,
        incident=incident,
        pir=found,
        revisions=kept,
        shown_revision=number,
        may_write=may(active, pirs.WRITE_ROLE) and number is None,
        **render.context(doc),
        **(form_error(failed) if failed else {}),
    )
