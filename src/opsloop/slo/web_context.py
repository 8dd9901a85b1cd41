"""What the SLO detail page shows; shared by the page and the forms that re-render it."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from markupsafe import Markup

from opsloop.core import clock
from opsloop.core.db import Database
from opsloop.slo import charts, evaluation
from opsloop.slo import service as slo_service
from opsloop.slo.deps import prometheus_client

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
