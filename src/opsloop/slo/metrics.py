"""SLO series on opsloop's ``/metrics``, from the scheduler's latest evaluations.

Names follow what SLO runbooks already query: ``slo_availability_percentage``,
``slo_error_budget_remaining``, ``slo_error_budget_burn_rate{window}``, plus the policy state.
A series is left out when its value is unknown (no data), rather than exported as 0 or 100.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import select

from opsloop.core.db import Database
from opsloop.slo.models import SLO, Evaluation


class SLOCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        sli = _gauge("slo_availability_percentage", "Current SLI over the budget period, in %.")
        objective = _gauge("slo_objective_percentage", "SLO objective, in %.")
        remaining = _gauge(
            "slo_error_budget_remaining", "Error budget left in the period (<= 0: exhausted)."
        )
        burn = _gauge("slo_error_budget_burn_rate", "Error budget burn rate per window.", "window")
        state = _gauge("slo_policy_state", "Error-budget policy state (1: current).", "state")
        firing = _gauge(
            "slo_burn_rate_alert_firing",
            "Burn-rate alert firing (1) or not (0).",
            "alert",
            "severity",
        )
        evaluated = _gauge("slo_last_evaluation_timestamp_seconds", "Time of the last evaluation.")
        query = select(
            SLO.service,
            SLO.name,
            SLO.objective,
            SLO.policy_state,
            Evaluation.evaluated_at,
            Evaluation.result,
        ).join(Evaluation, Evaluation.slo_id == SLO.id, isouter=True)
        with self.db.read() as session:
            rows = session.execute(query).all()
        for service, name, target, policy_state, at, raw in rows:
            ids = [service, name]
            objective.add_metric(ids, target)
            state.add_metric([*ids, policy_state], 1)
            if raw is None:
                continue
            result = json.loads(raw)
            evaluated.add_metric(ids, at.timestamp())
            if result["sli"] is not None:
                sli.add_metric(ids, result["sli"] * 100)
            if result["budget"] is not None:
                remaining.add_metric(ids, result["budget"]["remaining"])
            for window, value in result["burn_rates"].items():
                if value is not None:
                    burn.add_metric([*ids, window], value)
            for alert in result["alerts"]:
                value = 1 if alert["firing"] else 0
                firing.add_metric([*ids, alert["alert"], alert["severity"]], value)
        yield from (sli, objective, remaining, burn, state, firing, evaluated)


def _gauge(name: str, documentation: str, *extra: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=["service", "slo", *extra])
