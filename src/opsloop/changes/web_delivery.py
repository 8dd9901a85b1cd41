"""The DORA page (the four keys per service, team, week or month, with weekly charts) and
the compliance page. Read-only: they call the same services as the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.changes import compliance_report, dora, dora_charts
from opsloop.changes import dora_math as dm
from opsloop.changes.deps import Policy
from opsloop.core import clock, periods
from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import text_problem
from opsloop.services import service as catalog
from opsloop.services import teams
from opsloop.web.routes import DB, Active, form_error, render

QUARTER, MONTH = timedelta(days=90), timedelta(days=30)
router = APIRouter(include_in_schema=False)


def _checked(params: dict[str, str]) -> None:
    for name, value in params.items():
        if problem := text_problem(value):
            raise ValidationFailed(f"{name}: {problem}", field=name)
        if len(value) > 63:
            raise ValidationFailed(f"{name}: at most 63 characters", field=name)


@router.get("/changes/dora", response_class=HTMLResponse)
def dora_page(
    request: Request,
    db: DB,
    active: Active,
    since: str = "90d",
    until: str = "",
    by: str = "service",
    service: str = "",
    team: str = "",
) -> Response:
    """The four keys per group with their bands, and weekly charts of the same changes."""
    params = {"since": since, "until": until, "by": by, "service": service, "team": team}
    context: dict[str, Any] = {
        "params": params,
        "groupings": dora.GROUPINGS,
        "duration": dm.shown_duration,
        "percent": dm.shown_percent,
    }
    with db.read() as session:
        context["service_names"] = [s.name for s in catalog.list_services(session, offset=0)]
        context["team_names"] = [t.name for t in teams.list_teams(session)]
        try:
            _checked(params)
            start, end = periods.period(
                since, until or None, now=clock.now(), default=timedelta(days=90)
            )
            filters = {"service": service or None, "team": team or None}
            report = dora.dora(session, since=start, until=end, by=by, **filters)
            weeks = dora.dora(session, since=start, until=end, by="week", **filters).rows
        except ValidationFailed as exc:
            return render(
                request, "change_dora.html", active, 422, report=None, **context, **form_error(exc)
            )
    return render(
        request,
        "change_dora.html",
        active,
        report=report,
        deployments_chart=dora_charts.deployments_chart(weeks),
        lead_time_chart=dora_charts.lead_time_chart(weeks),
        failure_rate_chart=dora_charts.failure_rate_chart(weeks),
        **context,
    )


@router.get("/changes/compliance", response_class=HTMLResponse)
def compliance_page(
    request: Request,
    db: DB,
    active: Active,
    policy: Policy,
    since: str = "30d",
    until: str = "",
    require_cab_approval: bool = False,
    require_rollback_plan: bool = False,
) -> Response:
    """Changes started in the period that broke a rule, each with its reasons."""
    params: dict[str, Any] = {
        "since": since,
        "until": until,
        "require_cab_approval": require_cab_approval,
        "require_rollback_plan": require_rollback_plan,
    }
    try:
        _checked({"since": since, "until": until})
        start, end = periods.period(
            since, until or None, now=clock.now(), default=timedelta(days=30)
        )
        with db.read() as session:
            findings = compliance_report.compliance_report(
                session,
                since=start,
                until=end,
                require_cab_approval=require_cab_approval,
                require_rollback_plan=require_rollback_plan,
                policy=policy,
            )
    except ValidationFailed as exc:
        return render(
            request,
            "change_compliance.html",
            active,
            422,
            params=params,
            findings=None,
            **form_error(exc),
        )
    return render(
        request,
        "change_compliance.html",
        active,
        params=params,
        findings=findings,
        since_at=start,
        until_at=end,
    )
