"""Reading every Prometheus-sourced SLO's error ratios in one pass.

Re-running each SLO's expression per window costs Prometheus as much as evaluating the rules
again (``rate(...[30d])`` reads 43,200 samples per series at a one-minute scrape). Where
opsloop's generated rules are loaded, their series already hold those ratios, so
:func:`read_error_ratios` asks one query per window for all SLOs and uses a recorded ratio when

* the SLO's ``slo:sli_rules:info`` series carries the digest of its *current* error-ratio
  expressions (:func:`opsloop.slo.rules.sli_hash`), so the loaded rules record what opsloop
  would query now — a spec changed after the rule file was generated fails this;
* that info sample is at most ``recorded_max_age`` old, so the rules are still evaluated;
* the ratio sample carries the same labels (minus the digest) and was written in or after the
  evaluation that wrote the info sample, so it comes from the current rules, not from an
  earlier version of the group.

Everything else - SLOs without (current) rules, stale or failing rules, and budget spans no
rule records (a calendar period so far, a rolling period since a budget reset) - falls back to
the raw expressions, run concurrently. Both paths give the same numbers: the rules record the
very expressions of the raw path.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from opsloop.slo.math import NoData
from opsloop.slo.prometheus import Breaker, PrometheusClient, number, ratio
from opsloop.slo.rules import (
    NAME_LABEL,
    RULES_INFO_METRIC,
    SERVICE_LABEL,
    SLI_HASH_LABEL,
    error_ratio_expr,
    error_ratio_metric,
    sli_hash,
)
from opsloop.slo.spec import SLODefinition

log = logging.getLogger(__name__)

Ratio = float | NoData
Source = Literal["recorded", "raw", "mixed"]
#: Marks the half of a recorded-series answer that holds sample times (see :func:`series_query`).
TIME_LABEL = "opsloop_sample_time"
LabelSet = frozenset[tuple[str, str]]
#: Up to this many SLOs, the recorded-series queries name them instead of reading all.
FEW_SLOS = 20
#: Names that need no escaping inside a PromQL regular expression.
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class SLIRequest:
    """One SLO to read: the alert ``windows`` and the budget span so far (``period``)."""

    key: int
    defn: SLODefinition
    windows: tuple[timedelta, ...]
    period: timedelta


@dataclass
class SLIReading:
    windows: dict[timedelta, Ratio]
    period: Ratio
    #: Where the numbers came from: recorded series, the raw expressions, or both.
    source: Source


@dataclass(frozen=True)
class Sample:
    value: str
    at: float  # seconds since the epoch: when the rule wrote it, not when it was queried


@dataclass
class RecordedSeries:
    """The answers of the recorded-series queries, by metric name and full label set."""

    by_metric: dict[str, dict[LabelSet, Sample]] = field(default_factory=dict)
    _info: dict[tuple[str, str], list[tuple[LabelSet, Sample]]] | None = None

    def info_for(self, service: str, name: str) -> list[tuple[LabelSet, Sample]]:
        """The info series of one SLO (indexed on first use: one pass for all SLOs)."""
        if self._info is None:
            self._info = {}
            for labels, sample in self.by_metric.get(RULES_INFO_METRIC, {}).items():
                names = dict(labels)
                identity = (names.get(SERVICE_LABEL, ""), names.get(NAME_LABEL, ""))
                self._info.setdefault(identity, []).append((labels, sample))
        return self._info.get((service, name), [])


def series_query(metric: str, names: Collection[str] = ()) -> str:
    """opsloop's series of ``metric`` (all, or of the SLOs ``names``), each with the time its
    sample was written.

    An instant query reports the query's time on every sample, so the sample times come from
    ``timestamp()``; ``or`` adds them as a second set of series marked with :data:`TIME_LABEL`,
    which keeps this one query per metric (stale markers hide a removed rule's series in both).
    A few SLOs (one SLO's fresh status) are picked by name rather than reading every SLO's.
    """
    matcher = f'{NAME_LABEL}!=""'
    if names and len(names) <= FEW_SLOS and all(_PLAIN_NAME.match(n) for n in names):
        matcher = f'{NAME_LABEL}=~"{"|".join(sorted(set(names)))}"'
    selector = f"{metric}{{{matcher}}}"
    return f'{selector} or label_replace(timestamp({selector}), "{TIME_LABEL}", "1", "", "")'


def parse_series(result: Iterable[Mapping[str, Any]]) -> dict[LabelSet, Sample]:
    """Pair each series' value with its sample time; series missing either half are left out."""
    values: dict[LabelSet, str] = {}
    times: dict[LabelSet, float] = {}
    for item in result:
        # A copy without the two labels, turned into a set in one call: a thousand SLOs
        # answer 18,000 series per evaluation, and a generator per series cost a quarter second.
        labels = dict(item.get("metric", {}))
        labels.pop("__name__", None)
        timed = labels.pop(TIME_LABEL, None) is not None
        key = frozenset(labels.items())
        raw = item.get("value", [None, None])[1]
        if timed:
            at = number(raw)
            if not isinstance(at, NoData):
                times[key] = at
        else:
            values[key] = str(raw)
    return {key: Sample(value, times[key]) for key, value in values.items() if key in times}


Info = tuple[LabelSet, float]


def current_info(
    series: RecordedSeries, defn: SLODefinition, now: datetime, max_age: float
) -> Info | str:
    """The label set (without the digest) and time of the SLO's newest info sample carrying
    the digest of its current definition, or why there is none to trust."""
    digest = sli_hash(defn)
    found: Info | None = None
    other = False
    for labels, sample in series.info_for(defn.service, defn.name):
        if dict(labels).get(SLI_HASH_LABEL) != digest:
            other = True
        elif found is None or sample.at > found[1]:
            found = (frozenset((k, v) for k, v in labels if k != SLI_HASH_LABEL), sample.at)
    if found is None:
        return "rules of another definition" if other else "no rules loaded"
    age = now.timestamp() - found[1]
    if age > max_age:
        return f"rules last evaluated over {max_age:.0f} s ago"
    return found


def recorded_ratio(
    series: RecordedSeries, info: Info, window: timedelta
) -> tuple[Ratio | None, str]:
    """The ratio the current rules recorded over ``window``, or ``None`` with why not."""
    labels, written = info
    metric = error_ratio_metric(window)
    sample = series.by_metric.get(metric, {}).get(labels)
    if sample is None:
        return None, f"{metric} not recorded"
    if sample.at < written:
        return None, f"{metric} not written by the current rules"
    return ratio(number(sample.value)), ""


def read_error_ratios(
    client: PrometheusClient, requests: Sequence[SLIRequest], now: datetime
) -> dict[int, SLIReading]:
    """Error ratios for every request: recorded where current, raw expressions elsewhere."""
    breaker = Breaker()
    series = _read_recorded(client, requests, now, breaker) if client.use_recorded else None
    max_age = client.recorded_max_age.total_seconds()
    readings: dict[int, dict[timedelta, Ratio]] = {}
    recorded_count: Counter[int] = Counter()
    raw: list[tuple[int, timedelta, str]] = []
    reasons: Counter[str] = Counter()
    for request in requests:
        found: dict[timedelta, Ratio] = {}
        info: Info | str = "recorded series not read"
        if series is not None:
            info = current_info(series, request.defn, now, max_age)
        for window in {*request.windows, request.period}:
            value, why = None, info if isinstance(info, str) else ""
            if series is not None and not isinstance(info, str):
                value, why = recorded_ratio(series, info, window)
            if value is None:
                reasons[why] += 1
                raw.append((request.key, window, error_ratio_expr(request.defn, window)))
            else:
                found[window] = value
                recorded_count[request.key] += 1
        readings[request.key] = found
    values = client.instants([query for _, _, query in raw], now, breaker)
    for (key, window, _), value in zip(raw, values, strict=True):
        readings[key][window] = ratio(value)
    if raw:
        log.debug(
            "%d of %d SLO windows read from raw expressions: %s",
            len(raw),
            len(raw) + sum(recorded_count.values()),
            ", ".join(f"{why} ({n})" for why, n in reasons.most_common(5)),
        )
    return {
        request.key: SLIReading(
            windows={w: readings[request.key][w] for w in request.windows},
            period=readings[request.key][request.period],
            source=_source(recorded_count[request.key], len({*request.windows, request.period})),
        )
        for request in requests
    }


def _source(recorded: int, needed: int) -> Source:
    if recorded == needed:
        return "recorded"
    return "mixed" if recorded else "raw"


def _read_recorded(
    client: PrometheusClient, requests: Sequence[SLIRequest], now: datetime, breaker: Breaker
) -> RecordedSeries:
    """One query for the info series and one per recorded window any request needs (a budget
    span other than the SLO's period is never recorded), concurrently."""
    windows = {w for r in requests for w in r.windows}
    windows |= {r.period for r in requests if r.period == r.defn.period}
    metrics = [RULES_INFO_METRIC, *(error_ratio_metric(w) for w in sorted(windows))]
    names = [r.defn.name for r in requests]
    answers = client.run_all(
        [partial(_read_series, client, series_query(m, names), now, breaker) for m in metrics]
    )
    series = RecordedSeries()
    for metric, answer in zip(metrics, answers, strict=True):
        if isinstance(answer, NoData):
            log.warning("reading %s from Prometheus failed: %s", metric, answer.reason)
            continue
        series.by_metric[metric] = answer
    return series


def _read_series(
    client: PrometheusClient, query: str, now: datetime, breaker: Breaker
) -> dict[LabelSet, Sample] | NoData:
    # Parsed as each answer arrives, while Prometheus still computes the others.
    answer = client.vector(query, now, breaker)
    return answer if isinstance(answer, NoData) else parse_series(answer)
