"""The error ratio of SLOs over any time range, for callers outside the SLO domain (change
verification compares the hour before a change with the hour after it).

Pushed SLOs are answered exactly from the event sums (:mod:`opsloop.slo.event_sums`), which
cover any ``[start, end)`` to the minute; Prometheus-sourced SLOs by evaluating their error
ratio over the range's length at its end. A range without data gives the reason instead of a
number: no traffic is not 100 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from opsloop.core.errors import ValidationFailed
from opsloop.slo import event_sums
from opsloop.slo import service as slo_service
from opsloop.slo.math import NoData, error_ratio
from opsloop.slo.prometheus import PrometheusClient, ratio
from opsloop.slo.rules import error_ratio_expr
from opsloop.slo.sources import Source


@dataclass(frozen=True)
class RangeReading:
    """One SLO's error ratio (0..1) over a range, or why there is none."""

    slo_id: int
    ref: str
    objective: float
    error_ratio: float | None
    no_data: str = ""

    @property
    def budget_rate(self) -> float:
        """The error ratio the objective allows: burning at exactly this spends the budget
        over its whole window."""
        return 1 - self.objective / 100


def error_ratios_between(
    session: Session,
    *,
    service: str,
    start: datetime,
    end: datetime,
    prometheus: PrometheusClient | None = None,
) -> list[RangeReading]:
    """Every SLO of ``service``, with its error ratio in ``[start, end)``, by name."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed("start: give a time zone", field="start")
    if end <= start:
        raise ValidationFailed("end: must be after start", field="end")
    slos = slo_service.list_slos(session, service=service)
    pushed = [s.id for s in slos if s.source == Source.push]
    sums = event_sums.window_sums(session, pushed, end, [start]) if pushed else {}
    found = []
    for slo in slos:
        ref = f"{slo.service}/{slo.name}"
        value: float | NoData
        if slo.source == Source.push:
            good, total = sums.get(slo.id, [(0, 0)])[0]
            value = error_ratio(good, total)
        elif prometheus is None:
            value = NoData("no Prometheus configured (set OPSLOOP_PROMETHEUS_URL)")
        else:
            defn = slo_service.definition(slo)
            value = ratio(prometheus.instant(error_ratio_expr(defn, end - start), end))
        if isinstance(value, NoData):
            found.append(RangeReading(slo.id, ref, slo.objective, None, value.reason))
        else:
            found.append(RangeReading(slo.id, ref, slo.objective, float(value)))
    return found


def readings_by_id(readings: Sequence[RangeReading]) -> dict[int, RangeReading]:
    return {r.slo_id: r for r in readings}
