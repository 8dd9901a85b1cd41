"""The change pages: the list with filters, one change with its approvals, history, gate state
and controls, and the week calendar with windows and freezes. Forms are in
:mod:`opsloop.changes.web_forms`; both call the change services, like the API does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.changes import freezes, gate
from opsloop.changes import service as changes
from opsloop.changes.deps import Policy
from opsloop.changes.rules import ChangeModel, ChangeState, RiskLevel, parse_choice
from opsloop.changes.web_context import DECIDE_ROLE, WRITE_ROLE, render_change
from opsloop.changes.web_delivery import router as delivery_router
from opsloop.changes.web_forms import router as forms_router
from opsloop.changes.web_impact import router as impact_router
from opsloop.core import clock
from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import text_problem
from opsloop.services import service as catalog
from opsloop.web.routes import DB, Active, form_error, may, render

router = APIRouter(include_in_schema=False)
# First: /changes/new, /changes/assess and /changes/calendar must not be read as keys.
router.include_router(forms_router)
router.include_router(impact_router)
router.include_router(delivery_router)

PAGE_SIZE = 50


def checked_filter(params: dict[str, str]) -> changes.ChangeFilter:
    for name, value in params.items():
        if problem := text_problem(value):
            raise ValidationFailed(f"{name}: {problem}", field=name)
        if len(value) > 63:
            raise ValidationFailed(f"{name}: at most 63 characters", field=name)
    return changes.ChangeFilter(
        state=parse_choice(ChangeState, params["state"], "state") if params["state"] else None,
        service=params["service"] or None,
        model=parse_choice(ChangeModel, params["model"], "model") if params["model"] else None,
        risk=parse_choice(RiskLevel, params["risk"], "risk") if params["risk"] else None,
    )


def _link(params: dict[str, str], page: int) -> str:
    shown = {k: v for k, v in params.items() if v}
    return "/changes?" + urlencode({**shown, "page": page})


@router.get("/changes", response_class=HTMLResponse)
def change_list(
    request: Request,
    db: DB,
    active: Active,
    policy: Policy,
    state: str = "",
    service: str = "",
    model: str = "",
    risk: str = "",
    page: int = 1,
) -> Response:
    """Changes newest first, narrowed by the filter form's GET parameters."""
    params = {"state": state, "service": service, "model": model, "risk": risk}
    page = max(page, 1)
    context: dict[str, Any] = {
        "params": params,
        "states": list(ChangeState),
        "models": list(ChangeModel),
        "risks": list(RiskLevel),
        "may_submit": may(active, WRITE_ROLE),
    }
    with db.read() as session:
        context["service_names"] = [s.name for s in catalog.list_services(session, offset=0)]
        try:
            flt = checked_filter(params)
        except ValidationFailed as exc:
            return render(
                request, "change_list.html", active, 422, items=[], **context, **form_error(exc)
            )
        total = changes.count_changes(session, flt=flt)
        items = changes.list_changes(
            session, flt=flt, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, policy=policy
        )
    first = (page - 1) * PAGE_SIZE
    return render(
        request,
        "change_list.html",
        active,
        items=items,
        total=total,
        filtered=flt != changes.ChangeFilter(),
        first_shown=first + 1,
        last_shown=first + len(items),
        previous_link=_link(params, page - 1) if page > 1 else None,
        next_link=_link(params, page + 1) if first + len(items) < total else None,
        **context,
    )


def week_start(text: str) -> date:
    """The Monday of the week holding ``text`` (YYYY-MM-DD), or of this week."""
    if text:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValidationFailed("week: a date like 2026-11-02", field="week") from None
    else:
        day = clock.now().date()
    if not 1970 <= day.year <= 9000:
        raise ValidationFailed("week: a year from 1970 to 9000", field="week")
    return day - timedelta(days=day.weekday())


@router.get("/changes/calendar", response_class=HTMLResponse)
def calendar(request: Request, db: DB, active: Active, policy: Policy, week: str = "") -> Response:
    """A week of change windows, day by day, with freezes shaded and each service's gate."""
    try:
        monday = week_start(week)
    except ValidationFailed as exc:
        monday = week_start("")
        failed: dict[str, Any] = form_error(exc)
    else:
        failed = {}
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    end = start + timedelta(days=7)
    with db.read() as session:
        windows = changes.changes_in_window(session, start=start, end=end, policy=policy)
        frozen = freezes.list_freezes(session, since=start, until=end)
        upcoming = freezes.list_freezes(session, since=clock.now())
        service_names = [s.name for s in catalog.list_services(session, offset=0)]
        watched = [c.service for c in windows] + changes.services_with_open_changes(session)
        verdicts = gate.verdicts(session, services=watched)
    days = []
    for offset in range(7):
        day_start = start + timedelta(days=offset)
        day_end = day_start + timedelta(days=1)
        days.append(
            {
                "date": day_start,
                "changes": [
                    c
                    for c in windows
                    if c.window_start
                    and c.window_end
                    and c.window_start < day_end
                    and c.window_end > day_start
                ],
                "freezes": [f for f in frozen if f.starts_at < day_end and f.ends_at > day_start],
            }
        )
    return render(
        request,
        "change_calendar.html",
        active,
        422 if failed else 200,
        days=days,
        week=monday,
        previous_week=(monday - timedelta(days=7)).isoformat(),
        next_week=(monday + timedelta(days=7)).isoformat(),
        verdicts=verdicts,
        one_day=timedelta(days=1),
        upcoming=upcoming,
        service_names=service_names,
        may_freeze=may(active, DECIDE_ROLE),
        form={},
        **failed,
    )


@router.get("/changes/{key}", response_class=HTMLResponse)
def change_detail(request: Request, key: str, db: DB, active: Active, policy: Policy) -> Response:
    return render_change(request, db, active, key, policy)
