"""opsloop's Prometheus source against a real Prometheus serving synthetic, backfilled series.

Every error ratio opsloop reads is checked twice: against what Prometheus computes for the
matching recording rule of the generated rule file, and against the value the synthetic
scenario implies (see :mod:`tests.slo.prometheus_server`), so a bug shared by the rule
generator and the client still fails.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from opsloop.slo.alerting import AlertEvaluation, evaluate_burn_rate_alerts
from opsloop.slo.math import NoData, Objective, budget_status, burn_rate
from opsloop.slo.prometheus import PrometheusClient
from opsloop.slo.rules import (
    BUDGET_REMAINING_METRIC,
    OBJECTIVE_METRIC,
    error_ratio_metric,
    generate_rule_file,
    group_name,
    rule_windows,
)
from opsloop.slo.spec import BadTotalRatio, RollingWindow, SLODefinition, parse_documents
from tests.slo.prometheus_server import (
    INSTALL_HINT,
    PrometheusServer,
    Scenario,
    aligned_end,
    free_port,
    missing_binaries,
    start_prometheus,
)

pytestmark = pytest.mark.prometheus

WINDOWS = tuple(
    timedelta(minutes=m) for m in (5, 30, 60, 120, 360, 1440, 3 * 1440)
)  # the burn-rate alert windows, 5m .. 3d
PERIOD = timedelta(days=4)  # the SLOs' rolling period; the scenario holds 4d2h of data
REL = 1e-9
ABS = 1e-12


def _openslo_ratio(name: str, service: str, kind: str, query: str, target: float) -> str:
    return f"""
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
spec:
  service: {service}
  indicator:
    spec:
      ratioMetric:
        counter: true
        {kind}:
          metricSource:
            type: Prometheus
            spec:
              query: {query}
        total:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(http_requests_total{{service="{service}"}}[$window]))
  timeWindow:
    - duration: 4d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: {target}
"""


LATENCY_SPEC = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: latency
spec:
  service: checkout
  indicator:
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: http_request_duration_seconds_bucket{service="checkout"}
  timeWindow:
    - duration: 4d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - op: lte
      value: 0.25
      target: 0.95
"""

SPECS = "---".join(
    [
        _openslo_ratio(
            "availability",
            "checkout",
            "good",
            'sum(rate(http_requests_total{service="checkout",code!~"5.."}[$window]))',
            0.99,
        ),
        _openslo_ratio(
            "error-rate",
            "checkout",
            "bad",
            'sum(rate(http_requests_total{service="checkout",code=~"5.."}[$window]))',
            0.995,
        ),
        LATENCY_SPEC,
        _openslo_ratio(
            "availability",
            "batch",
            "good",
            'sum(rate(http_requests_total{service="batch",code!~"5.."}[$window]))',
            0.99,
        ),
    ]
)

#: Error ratio outside and inside the checkout burst, as the scenario generates them.
SCENARIO_RATIOS = {
    "availability": (0.005, 0.10),
    "error-rate": (0.005, 0.10),
    "latency": (0.02, 0.20),
}


@dataclass(frozen=True)
class Env:
    server: PrometheusServer
    scenario: Scenario
    defs: dict[tuple[str, str], SLODefinition]
    rules: dict[str, dict[str, Any]]  # group name -> {"records": {...}, "alerts": {...}}

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    missing = missing_binaries()
    if missing:
        pytest.fail(f"{', '.join(missing)} not found on PATH; {INSTALL_HINT}", pytrace=False)
    defs = {(d.service, d.name): d for d in parse_documents(SPECS)}
    assert all(d.period == PERIOD for d in defs.values())
    rule_text = generate_rule_file(defs.values())
    groups = yaml.safe_load(rule_text)["groups"]
    rules = {
        group["name"]: {
            "records": {r["record"]: r for r in group["rules"] if "record" in r},
            "alerts": {r["labels"]["severity"]: r for r in group["rules"] if "alert" in r},
        }
        for group in groups
    }
    scenario = Scenario(end=aligned_end())
    workdir = Path(tmp_path_factory.mktemp("prometheus"))
    with start_prometheus(scenario, workdir) as server:
        yield Env(server, scenario, defs, rules)


def query(env: Env, expr: str, at: datetime) -> list[dict[str, Any]]:
    """Evaluate ``expr`` with a plain HTTP call, independent of opsloop's client."""
    response = httpx.get(
        f"{env.url}/api/v1/query", params={"query": expr, "time": str(at.timestamp())}, timeout=10
    )
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", (expr, body)
    assert body["data"]["resultType"] == "vector"
    return list(body["data"]["result"])


def query_number(env: Env, expr: str, at: datetime) -> float:
    result = query(env, expr, at)
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


def inline_records(expr: str, records: dict[str, dict[str, Any]]) -> str:
    """Replace each recorded series the expression reads with the expression recording it.

    The selector must pick the recorded series by labels the recording rule attaches, or the
    rule as loaded into Prometheus would read nothing.
    """

    def substitute(match: re.Match[str]) -> str:
        rule = records[match[1]]
        for name, value in re.findall(r'(\w+)="([^"]*)"', match[2]):
            assert rule["labels"].get(name) == value, (match[0], rule["labels"])
        return f"({rule['expr']})"

    return re.sub(r"(slo:[a-z_]+:[a-z_0-9]+)\{([^}]*)\}", substitute, expr)


def scenario_ratio(env: Env, name: str, window: timedelta, at: datetime) -> float:
    """The error ratio over ``(at - window, at]`` implied by the generated rates."""
    normal, burst = SCENARIO_RATIOS[name]
    start = max(at - window, env.scenario.burst_start)
    in_burst = max(at - start, timedelta()) / window
    return burst * in_burst + normal * (1 - in_burst)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=ABS)


INSTANTS = {"in-burst": timedelta(0), "before-burst": timedelta(hours=1)}


@pytest.mark.parametrize("instant", INSTANTS)
@pytest.mark.parametrize("name", SCENARIO_RATIOS)
def test_error_ratios_match_recording_rules_and_scenario(env: Env, name: str, instant: str) -> None:
    defn = env.defs[("checkout", name)]
    records = env.rules[group_name(defn)]["records"]
    at = env.scenario.end - INSTANTS[instant]
    windows = rule_windows(defn)
    assert windows == [*WINDOWS, PERIOD]

    with PrometheusClient(env.url) as client:
        ratios = client.error_ratios(defn, windows, at)

    assert list(ratios) == windows
    for window in windows:
        ours = ratios[window]
        assert not isinstance(ours, NoData), (window, ours)
        recorded = query_number(env, records[error_ratio_metric(window)]["expr"], at)
        expected = scenario_ratio(env, name, window, at)
        assert close(ours, recorded), (window, ours, recorded)
        assert close(ours, expected), (window, ours, expected)

    normal, burst = SCENARIO_RATIOS[name]
    if instant == "in-burst":
        assert close(_value(ratios[timedelta(minutes=30)]), burst)
        assert close(_value(ratios[timedelta(hours=2)]), (normal + burst) / 2)
    else:
        assert close(_value(ratios[timedelta(days=1)]), normal)


@pytest.mark.parametrize("instant", INSTANTS)
@pytest.mark.parametrize("name", SCENARIO_RATIOS)
def test_burn_rate_and_budget_match_rules(env: Env, name: str, instant: str) -> None:
    defn = env.defs[("checkout", name)]
    group = env.rules[group_name(defn)]
    records = group["records"]
    at = env.scenario.end - INSTANTS[instant]
    objective = Objective(defn.objective)
    budget = 1 - defn.objective / 100

    with PrometheusClient(env.url) as client:
        ratios = client.error_ratios(defn, rule_windows(defn), at)

    assert close(query_number(env, records[OBJECTIVE_METRIC]["expr"], at), 1 - budget)
    burns = {}
    for window, ratio in ratios.items():
        burn = _value(burn_rate(ratio, objective))
        assert close(burn, _value(ratio) / budget)
        recorded = query_number(env, records[error_ratio_metric(window)]["expr"], at)
        assert close(burn, recorded / float(defn.error_budget))
        burns[window] = burn

    status = budget_status(ratios[PERIOD], objective, PERIOD)
    assert not isinstance(status, NoData)
    budget_expr = inline_records(records[BUDGET_REMAINING_METRIC]["expr"], records)
    remaining = query_number(env, budget_expr, at)
    expected = 1 - scenario_ratio(env, name, PERIOD, at) / budget
    assert close(status.remaining, remaining), (status.remaining, remaining)
    assert close(status.remaining, expected), (status.remaining, expected)

    # The burn-rate alerts fire in Prometheus exactly when opsloop's evaluation says so.
    evaluation = evaluate_burn_rate_alerts(burns, PERIOD)
    for severity, alert in group["alerts"].items():
        fires = bool(query(env, inline_records(alert["expr"], records), at))
        ours = any(row.condition for row in evaluation.rows if row.severity == severity)
        assert fires == ours, (severity, burns)
    if instant == "in-burst":
        assert "page" in holding_severities(evaluation)


def holding_severities(evaluation: AlertEvaluation) -> set[str]:
    """Severities whose condition holds (Prometheus' pending or firing, before ``for:``)."""
    return {row.severity for row in evaluation.rows if row.condition}


def test_scenario_alert_expectations(env: Env) -> None:
    """Before the burst, the slow 0.5 % burn of the 99 % SLO is 0.5x: sustainable over the 4d
    period, so nothing holds (unclamped 4d factors, 0.4x and 0.133x, would ticket)."""
    defn = env.defs[("checkout", "availability")]
    with PrometheusClient(env.url) as client:
        before = client.error_ratios(defn, WINDOWS, env.scenario.burst_start)
    burns = {w: burn_rate(r, Objective(defn.objective)) for w, r in before.items()}
    assert holding_severities(evaluate_burn_rate_alerts(burns, PERIOD)) == set()


def test_query_matching_nothing_is_no_data(env: Env) -> None:
    at = env.scenario.end
    with PrometheusClient(env.url) as client:
        value = client.instant('sum(rate(http_requests_total{service="nowhere"}[5m]))', at)
        assert isinstance(value, NoData)
        assert "matched nothing" in value.reason

        missing = "sum(rate(no_such_requests_total[$window]))"
        defn = SLODefinition(
            service="checkout",
            name="missing-metric",
            objective=99.9,
            indicator=BadTotalRatio(missing, missing),
            window=RollingWindow(PERIOD),
        )
        ratios = client.error_ratios(defn, WINDOWS, at)
        assert all(isinstance(r, NoData) and "matched nothing" in r.reason for r in ratios.values())

        several = client.instant("rate(http_requests_total[5m])", at)
        assert isinstance(several, NoData)
        assert "aggregate" in several.reason


def test_unreachable_prometheus_is_no_data_quickly(env: Env) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # closed: nothing listens there
    started = time.monotonic()
    with PrometheusClient(url, timeout=0.5, retries=1, backoff=0.05) as client:
        value = client.instant("vector(1)", env.scenario.end)
        ratios = client.error_ratios(
            env.defs[("checkout", "availability")], WINDOWS, env.scenario.end
        )
    elapsed = time.monotonic() - started
    assert isinstance(value, NoData)
    assert "unreachable" in value.reason
    assert url in value.reason
    assert all(isinstance(r, NoData) and "unreachable" in r.reason for r in ratios.values())
    assert elapsed < 5, elapsed


def test_broken_query_is_rejected(env: Env) -> None:
    with PrometheusClient(env.url, retries=0) as client:
        value = client.instant("sum(rate(http_requests_total[5m])", env.scenario.end)
        assert isinstance(value, NoData)
        assert "rejected" in value.reason
        assert "parse error" in value.reason


def test_window_without_traffic_is_no_data_not_perfect(env: Env) -> None:
    """batch stopped receiving requests 3 h before the end: 0/0 is no data, never 100 %."""
    defn = env.defs[("batch", "availability")]
    records = env.rules[group_name(defn)]["records"]
    at = env.scenario.end
    with PrometheusClient(env.url) as client:
        ratios = client.error_ratios(defn, rule_windows(defn), at)

    for window, ratio in ratios.items():
        recorded = query_number(env, records[error_ratio_metric(window)]["expr"], at)
        if window < env.scenario.quiet:
            assert math.isnan(recorded), (window, recorded)
            assert isinstance(ratio, NoData), (window, ratio)
            assert "no traffic" in ratio.reason
            assert isinstance(burn_rate(ratio, Objective(defn.objective)), NoData)
        else:
            assert close(_value(ratio), 0.01), (window, ratio)
            assert close(_value(ratio), recorded)
    assert [w for w, r in ratios.items() if isinstance(r, NoData)] == [
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
    ]


def _value(value: float | NoData) -> float:
    assert not isinstance(value, NoData), value
    return value


def test_absent_error_series_is_a_zero_ratio_not_no_data(env: Env) -> None:
    """A healthy service may never have created its 5xx series: that is 0 errors."""
    total = 'sum(rate(http_requests_total{service="checkout"}[$window]))'
    defn = SLODefinition(
        service="checkout",
        name="no-error-series",
        objective=99.9,
        indicator=BadTotalRatio('sum(rate(http_requests_total{code="599"}[$window]))', total),
        window=RollingWindow(PERIOD),
    )
    with PrometheusClient(env.url) as client:
        ratios = client.error_ratios(defn, WINDOWS, env.scenario.end)
    assert all(r == 0.0 for r in ratios.values()), ratios


def test_evaluation_pipeline_with_prometheus_source(env: Env, db: Any, frozen_clock: Any) -> None:
    """Applied specs, evaluated by opsloop as the scheduler does, against the same numbers."""
    from opsloop.core.audit import service as audit
    from opsloop.core.auth.roles import SYSTEM
    from opsloop.slo import evaluation
    from opsloop.slo import service as slo_service

    at = env.scenario.end
    frozen_clock.current = at
    with db.write() as session:
        applied = {
            (a.service, a.name): a.slo_id
            for a in slo_service.apply_specs(session, principal=SYSTEM, text=SPECS)
        }
    with PrometheusClient(env.url) as client:
        # Two evaluations 2m apart, as the scheduler runs them: the page's "for" is 2m.
        evaluation.evaluate(db, now=at - timedelta(minutes=2), prometheus=client)
        statuses = evaluation.evaluate(db, now=at, prometheus=client)
    defn = env.defs[("checkout", "availability")]
    records = env.rules[group_name(defn)]["records"]
    result = statuses[applied[("checkout", "availability")]].to_json()
    budget_expr = inline_records(records[BUDGET_REMAINING_METRIC]["expr"], records)
    assert close(result["budget"]["remaining"], query_number(env, budget_expr, at))
    period_ratio = query_number(env, records[error_ratio_metric(PERIOD)]["expr"], at)
    assert close(result["sli"], 1 - period_ratio)
    one_hour = query_number(env, records[error_ratio_metric(timedelta(hours=1))]["expr"], at)
    assert close(result["burn_rates"]["1h"], one_hour / 0.01)
    assert result["alert_severity"] == "page"  # the 10 % burst against a 1 % budget
    batch = statuses[applied[("batch", "availability")]].to_json()
    assert batch["burn_rates"]["5m"] is None  # no traffic: no data, not a perfect score
    with db.read() as session:
        fired = list(audit.iterate(session, flt=audit.AuditFilter(action="slo.alert.firing")))
    assert fired, "the page should have been recorded as firing"
