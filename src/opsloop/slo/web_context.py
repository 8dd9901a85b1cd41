"""What the SLO pages show: the list, and the detail page (shared by the page and the forms
that re-render it)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from markupsafe import Markup

from opsloop.core import clock
from opsloop.core.db import Database
from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import text_problem
from opsloop.slo import charts, evaluation, listing
from opsloop.slo import service as slo_service
from opsloop.slo.deps import prometheus_client
from opsloop.slo.sources import Source

PAGE_SIZE = 50

_FRAMES = {"wide": charts.WIDE, "narrow": charts.NARROW}


def detail_context(request: Request, db: Database, slo_id: int) -> dict[str, Any]:
    now = clock.now()
    prometheus = prometheus_client(request)
    with db.read() as session:
        slo = slo_service.get_slo(session, ref=slo_id)
        defn = slo_service.definition(slo)
        chart = charts.burndown_chart(session, slo, now, prometheus)
        context = {
            "slo": slo,
            "summary": slo_service.summary(defn),
            "rolling": slo_service.is_rolling(defn),
            "history": slo_service.alert_history(session, slo_id=slo.id, limit=50),
            "periods": slo_service.periods(session, slo_id=slo.id),
        }
    status = evaluation.evaluate(
        db, now=now, prometheus=prometheus, slo_ids=[slo_id], persist=False
    )
    # Built from numbers and escaped text only.
    svg = {name: Markup(charts.burndown_svg(chart, frame)) for name, frame in _FRAMES.items()}  # noqa: S704
    return {**context, "status": status[slo_id].to_json(), "chart": svg}


def _filter(params: dict[str, str]) -> listing.SLOFilter:
    for name, value in params.items():
        problem = text_problem(value)
        if problem:
            raise ValidationFailed(f"{name}: {problem}", field=name)
    source = params.get("source", "")
    if source and source not in Source.__members__:
        raise ValidationFailed("source must be push or prometheus", field="source")
    return listing.SLOFilter(
        service=params.get("service") or None,
        policy_state=params.get("state") or None,
        source=Source(source) if source else None,
        search=params.get("q", "").strip()[:127] or None,
    )


def _page_link(params: dict[str, str], page: int) -> str:
    kept = {k: v for k, v in params.items() if v}
    return "/slos?" + urlencode({**kept, "page": page}) if page > 1 or kept else "/slos"


def list_context(db: Database, params: dict[str, str], page: int) -> dict[str, Any]:
    """One page of the list: only its rows are read, and only their evaluations parsed."""
    flt = _filter(params)
    with db.read() as session:
        found = listing.rows_by_name(
            session, flt=flt, offset=(max(page, 1) - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        services = listing.services(session)
        states = listing.states(session)
    number = found.offset // PAGE_SIZE + 1
    last = max(1, -(-found.total // PAGE_SIZE))
    return {
        "items": [
            {"slo": row, "status": json.loads(row.result) if row.result else None}
            for row in found.rows
        ],
        "total": found.total,
        "page": number,
        "pages": last,
        "first_shown": found.offset + 1 if found.rows else 0,
        "last_shown": found.offset + len(found.rows),
        "previous_link": _page_link(params, number - 1) if number > 1 else None,
        "next_link": _page_link(params, number + 1) if number < last else None,
        "params": params,
        "service": params.get("service") or None,
        "services": services,
        "states": states,
        "filtered": any(params.values()),
    }
