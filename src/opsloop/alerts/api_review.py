"""``GET /api/v1/alerts/review``: the alert review for a period, as JSON or Markdown."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from opsloop.alerts import review as reviews
from opsloop.alerts.review_out import ReviewOut, markdown
from opsloop.core import clock, periods
from opsloop.core.deps import ReadSession, Viewer
from opsloop.core.schemas import AUTHENTICATED, errors, plain_params

router = APIRouter(
    prefix="/api/v1",
    tags=["Alerts"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
SPAN = "A span back from now (7d, 12h, 2w) or an ISO 8601 time with a zone."


@router.get(
    "/alerts/review",
    response_model=ReviewOut,
    responses={
        **errors(422),
        200: {"content": {"text/markdown": {}}, "description": "JSON, or Markdown if asked"},
    },
)
def alert_review(
    request: Request,
    _: Viewer,
    session: ReadSession,
    since: Annotated[str | None, Query(description=f"Start; default 7d. {SPAN}")] = None,
    until: Annotated[str | None, Query(description=f"End; default now. {SPAN}")] = None,
    service: Annotated[str | None, Query(max_length=63)] = None,
    format: Annotated[Literal["json", "md"], Query()] = "json",
) -> ReviewOut | Response:
    """Per alert name and per service: times fired, distinct label sets, mean and p95
    duration, flapping, actionable share, false positives, signal-to-noise, acknowledgement
    within target, and a recommendation. Definitions: docs/alerts.md."""
    start, end = periods.period(since, until, now=clock.now())
    limits = reviews.thresholds(request.app.state.settings)
    found = reviews.review(session, since=start, until=end, limits=limits, service=service)
    if format == "md":
        return PlainTextResponse(markdown(found), media_type="text/markdown; charset=utf-8")
    return ReviewOut.of(found)
