"""SLO pages: the list with status and policy badges, and one SLO with its burn-down."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from opsloop.core import clock
from opsloop.core.errors import NotFound
from opsloop.slo import charts, evaluation
from opsloop.slo import service as slo_service
from opsloop.slo.api import prometheus_client
from opsloop.slo.models import AlertEvent
from opsloop.web.routes import DB, Active, render

router = APIRouter(include_in_schema=False)


@router.get("/slos", response_class=HTMLResponse)
def slo_list(request: Request, db: DB, active: Active, service: str | None = None) -> Response:
    with db.read() as session:
        rows = slo_service.list_slos(session, service)
        latest = slo_service.latest_results(session, [s.id for s in rows])
    items = [{"slo": slo, "status": latest.get(slo.id)} for slo in rows]
    return render(request, "slo_list.html", active, items=items, service=service)


@router.get("/slos/{slo_id}", response_class=HTMLResponse)
def slo_detail(request: Request, slo_id: int, db: DB, active: Active) -> Response:
    now = clock.now()
    prometheus = prometheus_client(request)
    try:
        with db.read() as session:
            slo = slo_service.get_slo(session, slo_id)
            summary = slo_service.summary(slo_service.definition(slo))
            history = list(
                session.scalars(
                    select(AlertEvent)
                    .where(AlertEvent.slo_id == slo.id)
                    .order_by(AlertEvent.at.desc(), AlertEvent.id.desc())
                    .limit(50)
                )
            )
            periods = slo_service.periods(session, slo.id)
            points = charts.burndown(session, slo, now, prometheus)
    except NotFound:
        return render(request, "not_found.html", active, status_code=404)
    status = evaluation.evaluate(db, now, prometheus=prometheus, slo_ids=[slo.id], persist=False)[
        slo.id
    ].to_json()
    return render(
        request,
        "slo_detail.html",
        active,
        slo=slo,
        summary=summary,
        status=status,
        history=history,
        periods=periods,
        chart=Markup(charts.burndown_svg(points)),  # noqa: S704 - built from numbers and escaped text
    )
