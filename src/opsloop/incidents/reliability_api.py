"""``GET /api/v1/reliability``: the reliability figures of the incidents, grouped; thin, it
parses, calls :func:`opsloop.incidents.reliability.report` and shapes the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from opsloop.core.deps import ReadSession, Viewer
from opsloop.core.schemas import AUTHENTICATED, PLAIN_PATTERN, Timestamp, plain_params
from opsloop.incidents import reliability
from opsloop.incidents.deps import ReliabilityGoals
from opsloop.incidents.reliability_out import ReportOut
from opsloop.incidents.rules import parse_severity

router = APIRouter(
    prefix="/api/v1",
    tags=["Reliability"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)


@router.get("/reliability", response_model=ReportOut)
def reliability_figures(
    _: Viewer,
    session: ReadSession,
    goals: ReliabilityGoals,
    by: Annotated[
        str,
        Query(
            max_length=16, pattern=PLAIN_PATTERN, description="service, severity, team, week, month"
        ),
    ] = "service",
    since: Annotated[
        Timestamp | None, Query(description="incidents started at or after; default 30 days ago")
    ] = None,
    until: Annotated[
        Timestamp | None, Query(description="incidents started before; default now")
    ] = None,
    service: Annotated[str | None, Query(max_length=63, pattern=PLAIN_PATTERN)] = None,
    team: Annotated[
        str | None,
        Query(max_length=63, pattern=PLAIN_PATTERN, description="services the team owns"),
    ] = None,
    severity: Annotated[str | None, Query(max_length=8, pattern=PLAIN_PATTERN)] = None,
) -> ReportOut:
    """MTTD, MTTA, MTTM and MTTR (mean, median, p90, in seconds), incident counts, outage,
    MTBF and availability per group, and whether the MTTR and MTBF targets are met."""
    found = reliability.report(
        session,
        by=by,
        since=since,
        until=until,
        service=service or None,
        team=team or None,
        severity=parse_severity(severity) if severity else None,
        targets=goals,
    )
    return ReportOut.of(found)
