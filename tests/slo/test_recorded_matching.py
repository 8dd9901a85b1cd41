"""Recorded-series queries and their matching to SLOs, against a scripted Prometheus answer."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from opsloop.slo.math import NoData
from opsloop.slo.prometheus import TIMEOUTS_BEFORE_GIVING_UP, PrometheusClient
from opsloop.slo.recorded import (
    TIME_LABEL,
    RecordedSeries,
    Sample,
    SLIRequest,
    current_info,
    parse_series,
    read_error_ratios,
    recorded_ratio,
    series_query,
)
from opsloop.slo.rules import RULES_INFO_METRIC, error_ratio_metric, sli_hash, slo_labels
from opsloop.slo.spec import BadTotalRatio, SLODefinition

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WINDOWS = tuple(timedelta(minutes=m) for m in (5, 30, 60, 120, 360, 1440, 3 * 1440))
PERIOD = timedelta(days=30)
MAX_AGE = 120.0


def slo(i: int) -> SLODefinition:
    return SLODefinition(
        service=f"svc-{i // 10}",
        name=f"slo-{i}",
        objective=99.9,
        indicator=BadTotalRatio(
            f'sum(rate(req_total{{slo="s{i}",code="5"}}[$window]))',
            f'sum(rate(req_total{{slo="s{i}"}}[$window]))',
        ),
        labels={"team": "a"},
    )


def labels_of(defn: SLODefinition) -> dict[str, str]:
    return dict(slo_labels(defn))


def halves(metric: str, labels: dict[str, str], value: str, at: float) -> list[dict[str, object]]:
    """A series as :func:`series_query` answers it: the value, then its time."""
    return [
        {"metric": {"__name__": metric, **labels}, "value": [NOW.timestamp(), value]},
        {"metric": {**labels, TIME_LABEL: "1"}, "value": [NOW.timestamp(), str(at)]},
    ]


def test_series_query_selects_opsloops_series_with_their_sample_times() -> None:
    assert series_query("slo:sli_error:ratio_rate5m") == (
        'slo:sli_error:ratio_rate5m{slo_name!=""} or label_replace('
        'timestamp(slo:sli_error:ratio_rate5m{slo_name!=""}), "opsloop_sample_time", "1", "", "")'
    )


def test_a_few_slos_are_read_by_name() -> None:
    assert series_query("m", ["b-1", "a", "a"]).startswith('m{slo_name=~"a|b-1"} or')
    assert series_query("m", ["a.b"]).startswith('m{slo_name!=""} or')  # "." would match any
    many = [f"n{i}" for i in range(21)]
    assert series_query("m", many).startswith('m{slo_name!=""} or')


def test_parse_series_pairs_values_with_times() -> None:
    a, b = {"slo_name": "a"}, {"slo_name": "b"}
    result = [
        *halves("m", a, "0.5", 100.0),
        {"metric": {"__name__": "m", **b}, "value": [0, "0.1"]},  # its time half is missing
    ]
    assert parse_series(result) == {frozenset(a.items()): Sample("0.5", 100.0)}


def test_parse_series_matches_halves_whatever_the_label_order() -> None:
    # Prometheus sorts labels, but nothing here may depend on it; the answer is left intact.
    value = {"metric": {"slo_name": "a", "__name__": "m", "team": "x"}, "value": [0, "0.25"]}
    time = {"metric": {TIME_LABEL: "1", "team": "x", "slo_name": "a"}, "value": [0, "99.5"]}
    other = {"metric": {TIME_LABEL: "1", "team": "y", "slo_name": "a"}, "value": [0, "98.5"]}
    result = [value, other, time]
    expected = {frozenset({"slo_name": "a", "team": "x"}.items()): Sample("0.25", 99.5)}
    assert parse_series(result) == expected
    assert "__name__" in value["metric"] and TIME_LABEL in time["metric"]


def test_parse_series_drops_a_time_half_that_is_not_a_number() -> None:
    a = {"slo_name": "a"}
    result = [
        {"metric": {"__name__": "m", **a}, "value": [0, "0.5"]},
        {"metric": {**a, TIME_LABEL: "1"}, "value": [0, "NaN"]},
    ]
    assert parse_series(result) == {}


def series_for(defs: list[SLODefinition], at: float, value: str = "0.001") -> RecordedSeries:
    series = RecordedSeries()
    info = series.by_metric.setdefault(RULES_INFO_METRIC, {})
    for defn in defs:
        labels = labels_of(defn)
        info[frozenset({**labels, "slo_sli_hash": sli_hash(defn)}.items())] = Sample("1", at)
        for window in (*WINDOWS, PERIOD):
            per_window = series.by_metric.setdefault(error_ratio_metric(window), {})
            per_window[frozenset(labels.items())] = Sample(value, at)
    return series


def test_current_info_reasons() -> None:
    defn = slo(1)
    fresh = NOW.timestamp() - 30
    assert current_info(RecordedSeries(), defn, NOW, MAX_AGE) == "no rules loaded"
    changed = replace(defn, indicator=replace(defn.indicator, bad_query="sum(rate(x[$window]))"))
    assert current_info(series_for([changed], fresh), defn, NOW, MAX_AGE) == (
        "rules of another definition"
    )
    old = current_info(series_for([defn], NOW.timestamp() - 300), defn, NOW, MAX_AGE)
    assert old == "rules last evaluated over 120 s ago"
    found = current_info(series_for([defn], fresh), defn, NOW, MAX_AGE)
    assert found == (frozenset(labels_of(defn).items()), fresh)


def test_newest_current_info_wins_and_its_labels_pick_the_ratio() -> None:
    """Two rule sets for one SLO (say an old objective label still around, or two replicas):
    the ratio comes from the series beside the newest info sample carrying the current digest."""
    defn = slo(1)
    series = series_for([defn], NOW.timestamp() - 60, value="0.1")
    other = {**labels_of(defn), "slo_objective": "99"}
    info = series.by_metric[RULES_INFO_METRIC]
    info[frozenset({**other, "slo_sli_hash": sli_hash(defn)}.items())] = Sample(
        "1", NOW.timestamp() - 5
    )
    series.by_metric[error_ratio_metric(WINDOWS[0])][frozenset(other.items())] = Sample(
        "0.2", NOW.timestamp() - 5
    )
    found = current_info(series, defn, NOW, MAX_AGE)
    assert not isinstance(found, str)
    assert recorded_ratio(series, found, WINDOWS[0]) == (0.2, "")


def test_a_ratio_written_before_the_current_rules_is_not_used() -> None:
    defn = slo(1)
    series = series_for([defn], NOW.timestamp() - 10)
    labels = frozenset(labels_of(defn).items())
    series.by_metric[error_ratio_metric(WINDOWS[0])][labels] = Sample("0.5", NOW.timestamp() - 20)
    found = current_info(series, defn, NOW, MAX_AGE)
    assert not isinstance(found, str)
    assert recorded_ratio(series, found, WINDOWS[0]) == (
        None,
        "slo:sli_error:ratio_rate5m not written by the current rules",
    )
    del series.by_metric[error_ratio_metric(WINDOWS[1])][labels]
    assert recorded_ratio(series, found, WINDOWS[1]) == (
        None,
        "slo:sli_error:ratio_rate30m not recorded",
    )


def test_recorded_nan_and_rounding_read_like_raw_answers() -> None:
    defn = slo(1)
    for raw, expected in (
        ("NaN", NoData("no traffic in the window (Prometheus returned NaN)")),
        ("1.0000000000000002", 1.0),
    ):
        series = series_for([defn], NOW.timestamp(), value=raw)
        found = current_info(series, defn, NOW, MAX_AGE)
        assert not isinstance(found, str)
        assert recorded_ratio(series, found, WINDOWS[0]) == (expected, "")


class FakePrometheus:
    """Answers recorded-series queries from ``series`` and every other query with 0.25."""

    def __init__(self, series: RecordedSeries) -> None:
        self.series = series
        self.queries: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        query = request.url.params["query"]
        with self.lock:
            self.queries["recorded" if query.endswith('"1", "", "")') else "raw"] += 1
        result: list[dict[str, object]] = [{"metric": {}, "value": [NOW.timestamp(), "0.25"]}]
        for metric, samples in self.series.by_metric.items():
            if query.startswith(metric + "{slo_name"):
                result = []
                for labels, sample in samples.items():
                    result += halves(metric, dict(labels), sample.value, sample.at)
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        return httpx.Response(200, content=json.dumps(body))


def test_thousand_slos_take_one_query_per_window() -> None:
    defs = [slo(i) for i in range(1000)]
    fake = FakePrometheus(series_for(defs[:990], NOW.timestamp() - 30))
    requests = [SLIRequest(i, d, WINDOWS, PERIOD) for i, d in enumerate(defs)]
    with PrometheusClient("http://prometheus.test", transport=httpx.MockTransport(fake)) as client:
        readings = read_error_ratios(client, requests, NOW)
    # the info series, 7 alert windows and the 30d period; 10 SLOs without rules x 8 raw
    assert fake.queries == {"recorded": 9, "raw": 80}
    assert Counter(r.source for r in readings.values()) == {"recorded": 990, "raw": 10}
    assert readings[0].windows[WINDOWS[0]] == 0.001
    assert readings[999].windows[WINDOWS[0]] == 0.25 and readings[999].period == 0.25


def test_a_period_no_rule_records_is_read_raw_beside_recorded_windows() -> None:
    defn = slo(1)
    fake = FakePrometheus(series_for([defn], NOW.timestamp() - 30))
    request = SLIRequest(7, defn, WINDOWS, timedelta(days=12, hours=3))  # a month so far
    with PrometheusClient("http://prometheus.test", transport=httpx.MockTransport(fake)) as client:
        [reading] = read_error_ratios(client, [request], NOW).values()
    assert reading.source == "mixed"
    assert reading.period == 0.25
    assert set(reading.windows.values()) == {0.001}
    # the info series and 7 alert windows; no query for a "ratio_rate12d3h" nobody records
    assert fake.queries == {"recorded": 8, "raw": 1}


def test_use_recorded_false_reads_every_window_raw() -> None:
    defn = slo(1)
    fake = FakePrometheus(series_for([defn], NOW.timestamp() - 30))
    transport = httpx.MockTransport(fake)
    with PrometheusClient("http://p.test", transport=transport, use_recorded=False) as client:
        [reading] = read_error_ratios(client, [SLIRequest(1, defn, WINDOWS, PERIOD)], NOW).values()
    assert reading.source == "raw"
    assert fake.queries == {"raw": 8}


@pytest.mark.parametrize("failure", ["connect", "timeout"])
def test_the_breaker_stops_querying_a_prometheus_that_does_not_answer(failure: str) -> None:
    calls = Counter[str]()
    lock = threading.Lock()

    def fail(request: httpx.Request) -> httpx.Response:
        with lock:
            calls["n"] += 1
        if failure == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        raise httpx.ReadTimeout("timed out", request=request)

    defs = [slo(i) for i in range(100)]
    requests = [SLIRequest(i, d, WINDOWS, PERIOD) for i, d in enumerate(defs)]
    transport = httpx.MockTransport(fail)
    with PrometheusClient("http://p.test", transport=transport, retries=1, backoff=0) as client:
        readings = read_error_ratios(client, requests, NOW)
    word = "unreachable" if failure == "connect" else "timed out"
    for reading in readings.values():
        for value in [*reading.windows.values(), reading.period]:
            assert isinstance(value, NoData) and word in value.reason
    # 9 recorded-series queries run before anyone knows; 800 raw ones would follow without it
    assert calls["n"] <= 2 * (9 + TIMEOUTS_BEFORE_GIVING_UP + client.concurrency), calls
