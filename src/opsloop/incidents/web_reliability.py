"""The reliability page: figures per service, severity, team, week or month, filtered by team,
service and period, MTTR and MTBF trend charts (server-side SVG), and for approvers a form
that imports past incidents from CSV. Reads and writes through the incident services."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from opsloop.core import clock
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.core.schemas import text_problem
from opsloop.incidents import csv_import, reliability
from opsloop.incidents.deps import ReliabilityGoals
from opsloop.incidents.reliability_charts import trend_svg
from opsloop.incidents.reliability_out import human, met_text
from opsloop.services import service as catalog
from opsloop.services import teams
from opsloop.web.routes import DB, Active, form_error, may, render, writing_as

router = APIRouter(include_in_schema=False)
Importer = Annotated[ActiveSession, Depends(writing_as(csv_import.IMPORT_ROLE))]
PERIODS = {"30d": 30, "90d": 90, "180d": 180, "365d": 365}
TRENDS = ("month", "week")
MAX_UPLOAD = 16 * 1024 * 1024


def _day(text: str, name: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    except ValueError:
        raise ValidationFailed(
            f"{name}: not a date {text!r} (like 2026-11-02)", field=name
        ) from None


def _figures(session: Any, params: dict[str, str], goals: reliability.Targets) -> dict[str, Any]:
    for name, value in params.items():
        if problem := text_problem(value):
            raise ValidationFailed(f"{name}: {problem}", field=name)
        if len(value) > 63:
            raise ValidationFailed(f"{name}: at most 63 characters", field=name)
    if params["period"] not in PERIODS:
        raise ValidationFailed(f"period: use one of {', '.join(PERIODS)}", field="period")
    if params["trend"] not in TRENDS:
        raise ValidationFailed("trend: use month or week", field="trend")
    until = _day(params["until"], "until")
    since = _day(params["since"], "since") or (until or clock.now()) - timedelta(
        days=PERIODS[params["period"]]
    )
    common: dict[str, Any] = {
        "since": since,
        "until": until,
        "service": params["service"] or None,
        "team": params["team"] or None,
        "targets": goals,
    }
    table = reliability.report(session, by=params["by"], **common)
    trend = reliability.report(session, by=params["trend"], **common)
    hours = 3600.0
    mttr = [
        (g.group, g.mttr.mean.total_seconds() / hours if g.mttr.mean else None)
        for g in trend.groups
    ]
    mtbf = [(g.group, g.mtbf.total_seconds() / hours if g.mtbf else None) for g in trend.groups]
    return {
        "report": table,
        "mttr_chart": trend_svg(
            f"Mean time to resolve per {params['trend']}", mttr, goals.mttr.total_seconds() / hours
        ),
        "mtbf_chart": trend_svg(
            f"Mean time between failures per {params['trend']}",
            mtbf,
            goals.mtbf.total_seconds() / hours,
        ),
    }


def _page(
    request: Request,
    db: DB,
    active: ActiveSession,
    goals: reliability.Targets,
    params: dict[str, str],
    status: int = 200,
    **ctx: Any,
) -> Response:
    context: dict[str, Any] = {
        "params": params,
        "groupings": reliability.GROUPINGS,
        "periods": list(PERIODS),
        "trends": TRENDS,
        "human": human,
        "met_text": met_text,
        "may_import": may(active, csv_import.IMPORT_ROLE),
        "import_columns": csv_import.COLUMNS,
        **ctx,
    }
    with db.read() as session:
        context["service_names"] = catalog.service_names(session)
        context["team_names"] = [t.name for t in teams.list_teams(session)]
        try:
            context.update(_figures(session, params, goals))
        except ValidationFailed as exc:
            return render(request, "reliability.html", active, 422, **context, **form_error(exc))
    return render(request, "reliability.html", active, status, **context)


@router.get("/reliability", response_class=HTMLResponse)
def reliability_page(
    request: Request,
    db: DB,
    active: Active,
    goals: ReliabilityGoals,
    by: str = "service",
    team: str = "",
    service: str = "",
    period: str = "90d",
    since: str = "",
    until: str = "",
    trend: str = "month",
) -> Response:
    params = {
        "by": by,
        "team": team,
        "service": service,
        "period": period,
        "since": since,
        "until": until,
        "trend": trend,
    }
    return _page(request, db, active, goals, params)


@router.post("/reliability/import", response_class=HTMLResponse)
async def import_page(
    request: Request,
    db: DB,
    active: Importer,
    goals: ReliabilityGoals,
    file: Annotated[UploadFile | None, File()] = None,
    dry_run: Annotated[str, Form()] = "",
) -> Response:
    params = dict.fromkeys(("team", "service", "since", "until"), "")
    params.update(by="service", period="90d", trend="month")
    try:
        if file is None or not file.filename:
            raise ValidationFailed("file: choose a CSV file", field="file")
        raw = await file.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise ValidationFailed("file: larger than 16 MB", field="file")
        try:
            content = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("file: must be UTF-8", field="file") from None
        name = file.filename

        def work() -> csv_import.ImportResult:
            opened = db.read if dry_run else db.write
            with opened() as session:
                return csv_import.import_csv(
                    session,
                    principal=active.principal,
                    content=content,
                    dry_run=bool(dry_run),
                    source=name,
                )

        result = await run_in_threadpool(work)
    except OpsloopError as exc:
        failed = form_error(exc)
        return await run_in_threadpool(
            _page, request, db, active, goals, params, exc.status, import_error=failed["error"]
        )
    return await run_in_threadpool(_page, request, db, active, goals, params, imported=result)
