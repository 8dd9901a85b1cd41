"""Reading recorded series against a real Prometheus that evaluates opsloop's generated rules.

Prometheus serves the synthetic scenario of :mod:`tests.slo.prometheus_server` without its
burst (every rate is constant, so a ratio recorded a second ago equals the raw query now) and
evaluates the rule file every second. The rules were generated while ``checkout/error-rate``
still counted 4xx as errors, so its current definition no longer matches what is loaded.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsloop.slo.math import NoData
from opsloop.slo.prometheus import PrometheusClient
from opsloop.slo.recorded import SLIReading, SLIRequest, read_error_ratios
from opsloop.slo.rules import RULES_INFO_METRIC, generate_rule_file
from opsloop.slo.spec import BadTotalRatio, SLODefinition, parse_documents
from tests.slo.prometheus_server import (
    INSTALL_HINT,
    PrometheusServer,
    Scenario,
    aligned_end,
    free_port,
    missing_binaries,
    serve_prometheus,
    start_prometheus,
)
from tests.slo.test_prometheus_source import SPECS

pytestmark = pytest.mark.prometheus

WINDOWS = tuple(timedelta(minutes=m) for m in (5, 30, 60, 120, 360, 1440, 3 * 1440))
PERIOD = timedelta(days=4)
CHANGED = ("checkout", "error-rate")


@dataclass(frozen=True)
class Env:
    server: PrometheusServer
    defs: dict[tuple[str, str], SLODefinition]
    workdir: Path

    @property
    def url(self) -> str:
        return self.server.url


def current_defs() -> dict[tuple[str, str], SLODefinition]:
    return {(d.service, d.name): d for d in parse_documents(SPECS)}


def as_generated(defs: dict[tuple[str, str], SLODefinition]) -> list[SLODefinition]:
    """The definitions the loaded rules were generated from: error-rate counted 4xx then."""
    old = defs[CHANGED]
    assert isinstance(old.indicator, BadTotalRatio)
    bad = old.indicator.bad_query.replace('code=~"5.."', 'code=~"4..|5.."')
    return [
        replace(d, indicator=replace(old.indicator, bad_query=bad)) if k == CHANGED else d
        for k, d in defs.items()
    ]


def wait_for_info(url: str, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(f"{url}/api/v1/query", params={"query": RULES_INFO_METRIC}).json()
        if len(body["data"]["result"]) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"the rules did not record {count} info series in {timeout} s")


def start(tmp: Path, defs: dict[tuple[str, str], SLODefinition]) -> Any:
    missing = missing_binaries()
    if missing:
        pytest.fail(f"{', '.join(missing)} not found on PATH; {INSTALL_HINT}", pytrace=False)
    rules = tmp / "rules.yml"
    rules.write_text(generate_rule_file(as_generated(defs)), encoding="utf-8")
    scenario = Scenario(end=aligned_end(), burst=timedelta(0))
    return start_prometheus(scenario, tmp, rules=rules, evaluation_interval="1s")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    defs = current_defs()
    workdir = Path(tmp_path_factory.mktemp("prometheus-rules"))
    with start(workdir, defs) as server:
        wait_for_info(server.url, len(defs))
        yield Env(server, defs, workdir)


def requests_for(
    defs: dict[tuple[str, str], SLODefinition], period: timedelta = PERIOD
) -> list[SLIRequest]:
    return [SLIRequest(i, d, WINDOWS, period) for i, d in enumerate(defs.values())]


def read(url: str, requests: list[SLIRequest], **options: Any) -> dict[int, SLIReading]:
    with PrometheusClient(url, **options) as client:
        return read_error_ratios(client, requests, datetime.now(UTC))


def same(a: float | NoData, b: float | NoData) -> bool:
    if isinstance(a, NoData) or isinstance(b, NoData):
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def assert_same_ratios(ours: SLIReading, raw: SLIReading) -> None:
    assert same(ours.period, raw.period), (ours.period, raw.period)
    for window in WINDOWS:
        assert same(ours.windows[window], raw.windows[window]), (window, ours, raw)


def test_recorded_series_give_the_raw_numbers(env: Env) -> None:
    requests = requests_for(env.defs)
    recorded = read(env.url, requests)
    raw = read(env.url, requests, use_recorded=False)
    for request in requests:
        key = (request.defn.service, request.defn.name)
        assert raw[request.key].source == "raw"
        assert recorded[request.key].source == ("raw" if key == CHANGED else "recorded"), key
        assert_same_ratios(recorded[request.key], raw[request.key])
    # not vacuous: real ratios, and the quiet batch service's short windows are no data in both
    checkout = recorded[0]
    assert math.isclose(checkout.windows[timedelta(hours=1)], 0.005, rel_tol=1e-9)  # type: ignore[arg-type]
    batch = next(r for r in requests if r.defn.service == "batch")
    assert isinstance(recorded[batch.key].windows[timedelta(minutes=5)], NoData)


def test_spec_changed_after_the_rules_were_generated_reads_raw(env: Env) -> None:
    """The loaded rules still count 4xx: their ratios are larger than the current spec's."""
    [request] = [r for r in requests_for(env.defs) if (r.defn.service, r.defn.name) == CHANGED]
    [stale_spec] = [d for d in as_generated(env.defs) if (d.service, d.name) == CHANGED]
    current = read(env.url, [request])[request.key]
    as_loaded = read(env.url, [replace(request, defn=stale_spec)])[request.key]
    assert current.source == "raw"
    assert as_loaded.source == "recorded"
    assert math.isclose(current.windows[timedelta(hours=1)], 0.005, rel_tol=1e-9)  # type: ignore[arg-type]
    assert math.isclose(as_loaded.windows[timedelta(hours=1)], 0.015, rel_tol=1e-9)  # type: ignore[arg-type]


def test_slo_without_rules_reads_raw(env: Env) -> None:
    availability = env.defs[("checkout", "availability")]
    unruled = replace(availability, name="not-in-the-rule-file")
    [reading] = read(env.url, [SLIRequest(1, unruled, WINDOWS, PERIOD)]).values()
    [ruled] = read(env.url, [SLIRequest(1, availability, WINDOWS, PERIOD)]).values()
    assert (reading.source, ruled.source) == ("raw", "recorded")
    assert_same_ratios(reading, ruled)


def test_budget_span_without_a_rule_reads_only_that_raw(env: Env) -> None:
    """A calendar period so far (or a rolling one since a reset) has no recording rule."""
    requests = requests_for(env.defs, period=timedelta(hours=5))
    mixed = read(env.url, requests)
    raw = read(env.url, requests, use_recorded=False)
    for request in requests:
        changed = (request.defn.service, request.defn.name) == CHANGED
        assert mixed[request.key].source == ("raw" if changed else "mixed")
        assert_same_ratios(mixed[request.key], raw[request.key])


def test_a_broken_expression_is_no_data_for_that_slo_only(env: Env) -> None:
    availability = env.defs[("checkout", "availability")]
    broken = replace(
        availability,
        name="broken",
        indicator=BadTotalRatio("sum(rate(x[$window])", "sum(rate(x[$window]))"),
    )
    readings = read(
        env.url,
        [SLIRequest(1, broken, WINDOWS, PERIOD), SLIRequest(2, availability, WINDOWS, PERIOD)],
        retries=0,
    )
    assert all(
        isinstance(r, NoData) and "rejected" in r.reason for r in readings[1].windows.values()
    )
    assert readings[2].source == "recorded"
    assert not isinstance(readings[2].period, NoData)


def test_prometheus_down_is_no_data_quickly() -> None:
    """Every SLO gets the reason; the breaker stops the evaluation from trying each query."""
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    defs = current_defs()
    requests = [SLIRequest(i, d, WINDOWS, PERIOD) for i in range(25) for d in defs.values()]
    requests = [replace(r, key=k) for k, r in enumerate(requests)]
    started = time.monotonic()
    readings = read(url, requests, retries=2, backoff=0.2)
    elapsed = time.monotonic() - started
    for reading in readings.values():
        for value in [*reading.windows.values(), reading.period]:
            assert isinstance(value, NoData) and "unreachable" in value.reason, value
    # 800 queries x 0.6 s of retries / 8 at once would take a minute without the breaker
    assert elapsed < 5, elapsed


def test_stale_recorded_series_read_raw(tmp_path: Path) -> None:
    """Prometheus restarted without the rules: the series are still there, but age."""
    defs = current_defs()
    availability = defs[("checkout", "availability")]
    request = SLIRequest(1, availability, WINDOWS, PERIOD)
    with start(tmp_path, defs) as server:
        wait_for_info(server.url, len(defs))
        assert read(server.url, [request])[1].source == "recorded"
    with serve_prometheus(tmp_path, tmp_path / "data") as server:
        body = httpx.get(f"{server.url}/api/v1/query", params={"query": RULES_INFO_METRIC}).json()
        assert body["data"]["result"], "the recorded series should survive the restart"
        time.sleep(3)
        fresh_enough = read(server.url, [request], recorded_max_age=timedelta(minutes=1))[1]
        stale = read(server.url, [request], recorded_max_age=timedelta(seconds=2))[1]
        assert fresh_enough.source == "recorded"  # not vacuous: the series are there
        assert stale.source == "raw"
        assert_same_ratios(stale, fresh_enough)


def test_evaluation_reads_recorded_series_and_says_so(env: Env, db: Any) -> None:
    from opsloop.core.auth.roles import SYSTEM
    from opsloop.slo import evaluation
    from opsloop.slo import service as slo_service

    with db.write() as session:
        applied = {
            (a.service, a.name): a.slo_id
            for a in slo_service.apply_specs(session, principal=SYSTEM, text=SPECS)
        }
    now = datetime.now(UTC)
    with PrometheusClient(env.url) as client:
        recorded = evaluation.evaluate(db, now=now, prometheus=client, persist=False)
    with PrometheusClient(env.url, use_recorded=False) as client:
        raw = evaluation.evaluate(db, now=now, prometheus=client, persist=False)
    for key, slo_id in applied.items():
        ours, theirs = recorded[slo_id].to_json(), raw[slo_id].to_json()
        assert ours.pop("sli_source") == ("raw" if key == CHANGED else "recorded"), key
        assert theirs.pop("sli_source") == "raw"
        if key == ("batch", "availability"):
            # 1 % errors against a 1 % budget: exactly at the boundary, where an ulp between
            # Prometheus' two computations decides "exhausted"; compare the numbers only
            ours = {k: ours[k] for k in ("sli", "burn_rates")}
            theirs = {k: theirs[k] for k in ("sli", "burn_rates")}
        assert_close_json(ours, theirs)
    assert recorded[applied[("checkout", "availability")]].to_json()["burn_rates"]["1h"] == (
        pytest.approx(0.5)  # 0.5 % errors against a 1 % budget
    )


def assert_close_json(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            assert_close_json(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close_json(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)
