"""Readers for the parts of an OpenSLO v1 SLO spec: the SLI, the time window, the objective.

Problems are reported to the :class:`~opsloop.slo.spec.yaml_io.Reader` under the path given, and
a part that cannot be read comes back as None (or an empty ``le`` bound).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from opsloop.slo.spec.checks import (
    calendar_start_problem,
    canonical_le,
    canonical_selector,
    join_path,
    metric_name_problem,
    normalize_query,
    objective_problem,
    query_problem,
    rolling_duration_problem,
    selector_problem,
    time_zone_problem,
)
from opsloop.slo.spec.model import (
    DEFAULT_CALENDAR_START,
    BadTotalRatio,
    CalendarUnit,
    CalendarWindow,
    GoodTotalRatio,
    Indicator,
    LatencyThreshold,
    PushedEvents,
    RawErrorRatio,
    RollingWindow,
    TimeWindow,
)
from opsloop.slo.spec.yaml_io import Reader
from opsloop.slo.windows import parse_duration

PUSHED_SOURCE = "opsloop"  # metricSource.type of counts pushed to opsloop's API
CALENDAR_UNITS: dict[str, CalendarUnit] = {"1w": "week", "1M": "month", "1Q": "quarter"}
_HISTOGRAM = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{.*\})?\s*$", re.DOTALL)
_TIMESLICES = ("timeSliceTarget", "timeSliceWindow")
_OBJECTIVE = ("displayName", "op", "value", "target", "targetPercent", *_TIMESLICES)


def parse_sli_spec(r: Reader, value: object, path: str) -> Indicator | None:
    spec = r.mapping(value, path, ("description", "thresholdMetric", "ratioMetric"))
    if spec is None:
        return None
    r.text(spec, "description", path)
    ratio, threshold = spec.get("ratioMetric"), spec.get("thresholdMetric")
    if ratio is not None and threshold is not None:
        r.fail(path, "give either ratioMetric or thresholdMetric, not both")
    elif ratio is not None:
        return _ratio(r, ratio, join_path(path, "ratioMetric"))
    elif threshold is not None:
        return _histogram(r, threshold, join_path(path, "thresholdMetric"))
    else:
        r.fail(join_path(path, "ratioMetric"), "missing (or give thresholdMetric)")
    return None


def _source_query(r: Reader, value: object, path: str) -> str | None:
    """``{metricSource: {type: Prometheus, spec: {query: ...}}}`` -> the query."""
    metric = r.mapping(value, path, ("metricSource",))
    source = r.value(metric, "metricSource", path, True) if metric is not None else None
    path = join_path(path, "metricSource")
    source = r.mapping(source, path, ("metricSourceRef", "type", "spec")) if source else None
    if source is None:
        return None
    if "metricSourceRef" in source:
        r.fail(join_path(path, "metricSourceRef"), "not supported: give type and spec inline")
    kind = r.text(source, "type", path, True)
    if kind and kind != "Prometheus":
        r.fail(join_path(path, "type"), "only Prometheus is supported")
    spec = r.value(source, "spec", path, True)
    spec = r.mapping(spec, join_path(path, "spec"), ("query",)) if spec is not None else None
    query = r.text(spec, "query", join_path(path, "spec"), True) if spec is not None else ""
    return query or None


def _query(r: Reader, ratio: Mapping[str, Any], key: str, path: str) -> str | None:
    path = join_path(path, key)
    raw = _source_query(r, ratio[key], path)
    if raw is None:
        return None
    query = normalize_query(raw)
    return query if r.check(f"{path}.metricSource.spec.query", query_problem(query)) else None


def _ratio(r: Reader, value: object, path: str) -> Indicator | None:
    keys = ("counter", "good", "bad", "total", "rawType", "raw")
    ratio = r.mapping(value, path, keys)
    if ratio is None:
        return None
    present = {key for key in keys if ratio.get(key) is not None}
    if any(_source_type(ratio.get(key)) == PUSHED_SOURCE for key in ("good", "bad", "total")):
        return _pushed(r, ratio, present, path)
    if present & {"raw", "rawType"}:
        for key in sorted(present & {"good", "bad", "total"}):
            r.fail(join_path(path, key), "cannot be combined with raw")
        r.flag(ratio, "counter", path, False)
        raw_type = r.text(ratio, "rawType", path, True)
        if raw_type and raw_type != "failure":
            r.fail(join_path(path, "rawType"), "only failure is supported (an error ratio query)")
        if "raw" not in present:
            r.fail(join_path(path, "raw"), "missing")
            return None
        query = _query(r, ratio, "raw", path)
        return RawErrorRatio(query) if query else None
    if r.flag(ratio, "counter", path, True) is False:
        r.fail(join_path(path, "counter"), "must be true: queries are counter rates over $window")
    if {"good", "bad"} <= present:
        r.fail(path, "give either good or bad, not both")
    elif not present & {"good", "bad"}:
        r.fail(join_path(path, "good"), "missing (or give bad)")
    if "total" not in present:
        r.fail(join_path(path, "total"), "missing")
    queries = {key: _query(r, ratio, key, path) for key in sorted(present - {"counter"})}
    total = queries.get("total")
    if not total or len(present & {"good", "bad"}) != 1:
        return None
    if "good" in queries:
        return GoodTotalRatio(queries["good"], total) if queries["good"] else None
    return BadTotalRatio(queries["bad"], total) if queries["bad"] else None


def _source_type(value: object) -> object:
    source = value.get("metricSource") if isinstance(value, dict) else None
    return source.get("type") if isinstance(source, dict) else None


def _pushed(r: Reader, ratio: Mapping[str, Any], present: set[str], path: str) -> Indicator | None:
    start = len(r.problems)
    if r.flag(ratio, "counter", path, True) is False:
        r.fail(join_path(path, "counter"), "must be true: pushed events are counts")
    for key in sorted(present - {"counter", "good", "total"}):
        r.fail(join_path(path, key), "pushed events are good and total counts only")
    for key in ("good", "total"):
        expected = {"metricSource": {"type": PUSHED_SOURCE, "spec": {"pushed": key}}}
        if key not in present:
            r.fail(join_path(path, key), "missing")
        elif ratio[key] != expected:
            reason = f"pushed events need metricSource type {PUSHED_SOURCE}, spec pushed: {key}"
            r.fail(join_path(path, key), reason)
    return PushedEvents() if len(r.problems) == start else None


def _histogram(r: Reader, value: object, path: str) -> LatencyThreshold | None:
    query = _source_query(r, value, path)
    if query is None:
        return None
    where = f"{path}.metricSource.spec.query"
    match = _HISTOGRAM.match(query)
    if not match:
        r.fail(where, 'must be a histogram selector such as latency_seconds_bucket{job="api"}')
        return None
    metric = match[1].removesuffix("_bucket")
    selector = match[2] or ""
    ok = r.check(where, metric_name_problem(metric)) and r.check(where, selector_problem(selector))
    return LatencyThreshold(metric, "", canonical_selector(selector) or "") if ok else None


def parse_time_window(r: Reader, spec: Mapping[str, Any]) -> TimeWindow | None:
    windows = r.items(spec, "timeWindow", "spec", True)
    if len(windows) != 1:
        if windows:
            r.fail("spec.timeWindow", f"only one time window is supported (found {len(windows)})")
        return None
    path = "spec.timeWindow[0]"
    window = r.mapping(windows[0], path, ("duration", "isRolling", "calendar"))
    if window is None:
        return None
    duration = r.text(window, "duration", path, True)
    rolling = r.flag(window, "isRolling", path, True)
    raw_calendar = r.value(window, "calendar", path, False)
    if rolling and raw_calendar is not None:
        r.fail(f"{path}.calendar", "only used with isRolling: false")
    if not duration or rolling is None:
        return None
    if rolling:
        try:
            length = parse_duration(duration)
        except ValueError:
            r.fail(f"{path}.duration", "rolling windows need a fixed duration such as 28d or 30d")
            return None
        ok = r.check(f"{path}.duration", rolling_duration_problem(length))
        return RollingWindow(length) if ok else None
    unit = CALENDAR_UNITS.get(duration)
    if unit is None:
        r.fail(f"{path}.duration", "calendar windows must be 1w, 1M or 1Q (week, month, quarter)")
    path += ".calendar"
    keys = ("startTime", "timeZone")
    calendar = r.mapping(raw_calendar, path, keys) if raw_calendar is not None else None
    zone = r.text(calendar, "timeZone", path, True) if calendar is not None else "UTC"
    zone_ok = bool(zone) and r.check(f"{path}.timeZone", time_zone_problem(zone))
    value = calendar.get("startTime") if calendar is not None else None
    start = _start_time(r, value, f"{path}.startTime", unit or "week")
    if unit is None or not zone_ok or start is None:
        return None
    return CalendarWindow(unit, zone, start)


def _start_time(r: Reader, value: object, path: str, unit: CalendarUnit) -> datetime | None:
    if value is None:
        return DEFAULT_CALENDAR_START
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            r.fail(path, "expected a local time such as 2024-01-01 00:00:00")
            return None
    if not isinstance(value, datetime):
        r.fail(path, "expected a local time such as 2024-01-01 00:00:00")
        return None
    return value if r.check(path, calendar_start_problem(unit, value)) else None


def parse_objective(
    r: Reader, spec: Mapping[str, Any], threshold: bool | None
) -> tuple[float | None, str]:
    """The objective percent and, for thresholdMetric, the ``le`` bound (None: unknown)."""
    objectives = r.items(spec, "objectives", "spec", True)
    if len(objectives) != 1:
        if objectives:
            r.fail("spec.objectives", f"only one objective is supported (found {len(objectives)})")
        return None, ""
    path = "spec.objectives[0]"
    objective = r.mapping(objectives[0], path, _OBJECTIVE)
    if objective is None:
        return None, ""
    for key in _TIMESLICES:
        if key in objective:
            r.fail(join_path(path, key), "only for Timeslices budgeting, which is not supported")
    target = r.number(objective, "target", path, False)
    percent = r.number(objective, "targetPercent", path, False)
    result = None
    if target is not None and percent is not None:
        r.fail(path, "give either target or targetPercent, not both")
    elif target is not None:
        if 0 < target < 1:
            result = float(Decimal(repr(float(target))) * 100)
        else:
            r.fail(f"{path}.target", "must be between 0 and 1 (exclusive), e.g. 0.999")
    elif percent is not None:
        if r.check(f"{path}.targetPercent", objective_problem(percent)):
            result = float(percent)
    else:
        r.fail(f"{path}.target", "missing (or give targetPercent)")
    if threshold is None:
        return result, ""
    op = r.text(objective, "op", path, threshold)
    bound = r.number(objective, "value", path, threshold)
    if not threshold:
        for key in ("op", "value"):
            if key in objective:
                r.fail(join_path(path, key), "only used with thresholdMetric")
        return result, ""
    if op and op != "lte":
        r.fail(f"{path}.op", "must be lte: requests at or below the threshold are good")
    if bound is not None and not bound > 0:
        r.fail(f"{path}.value", "must be a positive bucket bound")
        bound = None
    return result, canonical_le(bound) if bound is not None else ""
