"""The alert review page: per alert and per service with recommendations, and a chart of alerts
fired per day (the actionable ones in front)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.alerts import review as reviews
from opsloop.alerts.review_out import duration, ratio
from opsloop.core import clock, periods
from opsloop.core.errors import OpsloopError
from opsloop.web.bars import Bar, bar_chart_svg
from opsloop.web.routes import DB, Active, form_error, render

router = APIRouter(include_in_schema=False)


@router.get("/alerts/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    db: DB,
    active: Active,
    since: Annotated[str, Query(max_length=64)] = "7d",
    until: Annotated[str, Query(max_length=64)] = "",
    service: Annotated[str, Query(max_length=63)] = "",
) -> Response:
    form = {"since": since, "until": until, "service": service}
    try:
        start, end = periods.period(since, until or None, now=clock.now())
    except OpsloopError as exc:
        page = "alert_review.html"
        return render(request, page, active, exc.status, form=form, **form_error(exc))
    limits = reviews.thresholds(request.app.state.settings)
    with db.read() as session:
        found = reviews.review(
            session, since=start, until=end, limits=limits, service=service or None
        )
    bars = [Bar(f"{d.day:%b %d}", d.fired, d.actionable) for d in found.days]
    chart = bar_chart_svg(
        bars, title="Alerts fired per day", total_name="fired", part_name="actionable"
    )
    return render(
        request,
        "alert_review.html",
        active,
        form=form,
        review=found,
        chart=chart,
        duration=duration,
        ratio=ratio,
    )
