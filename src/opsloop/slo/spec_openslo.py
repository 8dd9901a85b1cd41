"""OpenSLO v1 documents to and from :class:`~opsloop.slo.spec.SLODefinition`.

Supported: ``kind: SLO`` with an inline ``indicator`` or an ``indicatorRef`` to a ``kind: SLI``
document of the same file, and ``kind: Service`` (its ``opsloop.dev/owner`` annotation is the
default owner of its SLOs). Indicators: ``ratioMetric`` (good or bad + total counters, or
``rawType: failure`` + ``raw``), ``thresholdMetric`` on a Prometheus histogram, read as
"requests at or below the objective's ``value``" (``op: lte``), and good/total counts pushed
to opsloop (``metricSource: {type: opsloop, spec: {pushed: good}}``). Budgeting is ``Occurrences``
only. Alert kinds (AlertPolicy, AlertCondition, AlertNotificationTarget) are rejected: opsloop
derives multiwindow burn-rate alerts from each SLO, with options from the
``opsloop.dev/alerting`` annotation (a JSON object).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from opsloop.slo.spec import (
    DEFAULT_CALENDAR_START,
    SLI_KINDS,
    Alerting,
    BadTotalRatio,
    CalendarUnit,
    CalendarWindow,
    GoodTotalRatio,
    Indicator,
    LatencyThreshold,
    PushedEvents,
    RawErrorRatio,
    Reader,
    RollingWindow,
    SeverityAlert,
    SLODefinition,
    SpecError,
    TimeWindow,
    alerting_problems,
    calendar_start_problem,
    canonical_le,
    canonical_selector,
    default_alert_name,
    dns_label_problem,
    infer_sli_kind,
    join_path,
    kind_problem,
    label_map_problems,
    metric_name_problem,
    normalize_query,
    objective_problem,
    query_problem,
    rolling_duration_problem,
    selector_problem,
    time_zone_problem,
)
from opsloop.slo.windows import format_duration, parse_duration

API_VERSION = "openslo/v1"
OWNER_ANNOTATION = "opsloop.dev/owner"
SLI_KIND_ANNOTATION = "opsloop.dev/sli-kind"
ALERTING_ANNOTATION = "opsloop.dev/alerting"

_TOP = ("apiVersion", "kind", "metadata", "spec")
_METADATA = ("name", "displayName", "labels", "annotations")
_SLO_SPEC = (
    *("description", "service", "indicator", "indicatorRef", "timeWindow"),
    *("budgetingMethod", "objectives", "alertPolicies"),
)
_TIMESLICES = ("timeSliceTarget", "timeSliceWindow")
_OBJECTIVE = ("displayName", "op", "value", "target", "targetPercent", *_TIMESLICES)
_ALERTS = "opsloop derives multiwindow burn-rate alerts from each SLO"
_ALERTS += f" (options: the {ALERTING_ANNOTATION} annotation)"
_UNSUPPORTED_KINDS = {
    "AlertPolicy": _ALERTS,
    "AlertCondition": _ALERTS,
    "AlertNotificationTarget": _ALERTS,
    "DataSource": "give metricSource.type: Prometheus and spec.query inline",
}
_CALENDAR_UNITS: dict[str, CalendarUnit] = {"1w": "week", "1M": "month", "1Q": "quarter"}
_HISTOGRAM = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{.*\})?\s*$", re.DOTALL)
_ANNOTATIONS = "metadata.annotations"
PUSHED_SOURCE = "opsloop"  # metricSource.type of counts pushed to opsloop's API


def is_openslo(document: Mapping[str, Any]) -> bool:
    return str(document.get("apiVersion", "")).startswith("openslo/")


class OpenSLOContext:
    """SLI and Service documents of one file, collected before its SLOs are parsed.

    A thresholdMetric SLI is kept as a LatencyThreshold with an empty ``le``: the bound
    comes from the objective of the SLO that uses it.
    """

    def __init__(self) -> None:
        self.slis: dict[str, Indicator | None] = {}
        self.owners: dict[str, str] = {}

    def add(self, document: dict[str, Any], r: Reader) -> None:
        kind = document.get("kind")
        if document.get("apiVersion") != API_VERSION or kind not in ("SLI", "Service"):
            return
        r.mapping(document, "", _TOP)
        name, _, annotations = _metadata(r, document)
        spec = r.value(document, "spec", "", kind == "SLI")
        if kind == "Service":
            service_spec = r.mapping(spec, "spec", ("description",)) if spec is not None else None
            if service_spec is not None:
                r.text(service_spec, "description", "spec")
            if name in self.owners:
                r.fail("metadata.name", f"duplicate Service {name}")
            self.owners[name] = annotations.get(OWNER_ANNOTATION, "")
        elif name in self.slis:
            r.fail("metadata.name", f"duplicate SLI {name}")
        elif name:
            self.slis[name] = _sli_spec(r, spec, "spec") if spec is not None else None

    def parse_slo(self, document: dict[str, Any], r: Reader) -> list[tuple[SLODefinition, str]]:
        """The SLO of an OpenSLO document with its name's path ([] for other kinds)."""
        kind = document.get("kind")
        if document.get("apiVersion") != API_VERSION:
            r.fail("apiVersion", f"only {API_VERSION} is supported")
        elif kind is None:
            r.fail("kind", "missing")
        elif kind in _UNSUPPORTED_KINDS:
            r.fail("kind", f"{kind} is not supported: {_UNSUPPORTED_KINDS[kind]}")
        elif kind not in ("SLO", "SLI", "Service"):
            r.fail("kind", "unknown kind (expected SLO, SLI or Service)")
        elif kind == "SLO":
            found = self._slo(document, r)
            return [found] if found else []
        return []

    def _slo(self, document: dict[str, Any], r: Reader) -> tuple[SLODefinition, str] | None:
        start = len(r.problems)
        r.mapping(document, "", _TOP)
        name, labels, annotations = _metadata(r, document)
        spec = r.value(document, "spec", "", True)
        spec = (r.mapping(spec, "spec", _SLO_SPEC) if spec is not None else None) or {}
        service = r.text(spec, "service", "spec", True)
        if service:
            r.check("spec.service", dns_label_problem(service))
        description = r.text(spec, "description", "spec")
        if r.items(spec, "alertPolicies", "spec", False):
            r.fail("spec.alertPolicies", f"not supported: {_ALERTS}")
        _budgeting(r, r.text(spec, "budgetingMethod", "spec", True))
        indicator = self._indicator(r, spec)
        window = _time_window(r, spec)
        threshold = None if indicator is None else isinstance(indicator, LatencyThreshold)
        objective, le = _objective(r, spec, threshold)
        if isinstance(indicator, LatencyThreshold):
            indicator = LatencyThreshold(indicator.metric, le, indicator.selector)
        kind = annotations.get(SLI_KIND_ANNOTATION)
        if kind is not None and indicator is not None:
            r.check(join_path(_ANNOTATIONS, SLI_KIND_ANNOTATION), kind_problem(kind, indicator))
        alerting = _alerting(r, annotations.get(ALERTING_ANNOTATION))
        owner = annotations.get(OWNER_ANNOTATION, self.owners.get(service, ""))
        if len(r.problems) > start or indicator is None or window is None or objective is None:
            return None
        try:
            defn = SLODefinition(
                service=service,
                name=name,
                objective=objective,
                indicator=indicator,
                window=window,
                description=description,
                owner=owner,
                labels=labels,
                sli_kind=next((k for k in SLI_KINDS if k == kind), None),
                alerting=alerting,
            )
        except SpecError as exc:  # anything not already reported with a spec path
            r.report(exc.problems)
            return None
        return defn, r.where("metadata.name")

    def _indicator(self, r: Reader, spec: Mapping[str, Any]) -> Indicator | None:
        inline, ref = spec.get("indicator"), spec.get("indicatorRef")
        if inline is not None and ref is not None:
            r.fail("spec", "give either indicator or indicatorRef, not both")
        elif inline is not None:
            indicator = r.mapping(inline, "spec.indicator", ("metadata", "spec")) or {}
            if indicator.get("metadata") is not None:
                r.mapping(indicator["metadata"], "spec.indicator.metadata", _METADATA)
            value = r.value(indicator, "spec", "spec.indicator", bool(indicator))
            return _sli_spec(r, value, "spec.indicator.spec") if value is not None else None
        elif ref is not None:
            if isinstance(ref, str) and ref in self.slis:
                return self.slis[ref]
            r.fail("spec.indicatorRef", f"no SLI document named {ref!r} in this file")
        else:
            r.fail("spec.indicator", "missing (or give spec.indicatorRef)")
        return None


def _metadata(r: Reader, document: Mapping[str, Any]) -> tuple[str, dict[str, str], dict[str, str]]:
    value = r.value(document, "metadata", "", True)
    metadata = r.mapping(value, "metadata", _METADATA) if value is not None else None
    if metadata is None:
        return "", {}, {}
    name = r.text(metadata, "name", "metadata", True)
    if name:
        r.check("metadata.name", dns_label_problem(name))
    labels = r.strings(metadata, "labels", "metadata")
    r.report(label_map_problems(labels, "metadata.labels"))
    annotations = r.strings(metadata, "annotations", "metadata")
    known = (OWNER_ANNOTATION, SLI_KIND_ANNOTATION, ALERTING_ANNOTATION)
    for key in annotations:
        if key.startswith("opsloop.dev/") and key not in known:
            r.fail(join_path(_ANNOTATIONS, key), "unknown opsloop annotation")
    return name, labels, annotations


def _budgeting(r: Reader, method: str) -> None:
    if method in ("Timeslices", "RatioTimeslices"):
        reason = "is not supported: opsloop budgets by occurrences (good or bad events / total)"
        r.fail("spec.budgetingMethod", f"{method} {reason}")
    elif method and method != "Occurrences":
        r.fail("spec.budgetingMethod", "must be Occurrences")


def _sli_spec(r: Reader, value: object, path: str) -> Indicator | None:
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


def _time_window(r: Reader, spec: Mapping[str, Any]) -> TimeWindow | None:
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
    unit = _CALENDAR_UNITS.get(duration)
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


def _objective(
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


def _alerting(r: Reader, text: str | None) -> Alerting:
    """Options from the alerting annotation's JSON (problems reported under its path)."""
    path = join_path(_ANNOTATIONS, ALERTING_ANNOTATION)
    if text is None:
        return Alerting()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        r.fail(path, f"invalid JSON: {exc.msg} (column {exc.colno})")
        return Alerting()
    keys = ("name", "labels", "annotations", "runbookUrl", "page", "ticket")
    top = r.mapping(data, path, keys) or {}
    severities = {}
    for severity in ("page", "ticket"):
        where = join_path(path, severity)
        value = top.get(severity, {})
        options = r.mapping(value, where, ("enabled", "name", "labels", "annotations")) or {}
        severities[severity] = SeverityAlert(
            enabled=r.flag(options, "enabled", where, False) is not False,
            name=r.text(options, "name", where),
            labels=r.strings(options, "labels", where),
            annotations=r.strings(options, "annotations", where),
        )
    alerting = Alerting(
        name=r.text(top, "name", path),
        labels=r.strings(top, "labels", path),
        annotations=r.strings(top, "annotations", path),
        runbook_url=r.text(top, "runbookUrl", path),
        page=severities["page"],
        ticket=severities["ticket"],
    )
    r.report(alerting_problems(alerting, path))
    return alerting


# Export.


def _source(query: str) -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}


def _indicator_spec(indicator: Indicator) -> dict[str, Any]:
    if isinstance(indicator, GoodTotalRatio):
        good, total = _source(indicator.good_query), _source(indicator.total_query)
        return {"ratioMetric": {"counter": True, "good": good, "total": total}}
    if isinstance(indicator, BadTotalRatio):
        bad, total = _source(indicator.bad_query), _source(indicator.total_query)
        return {"ratioMetric": {"counter": True, "bad": bad, "total": total}}
    if isinstance(indicator, RawErrorRatio):
        raw = _source(indicator.error_ratio_query)
        return {"ratioMetric": {"counter": False, "rawType": "failure", "raw": raw}}
    if isinstance(indicator, PushedEvents):
        good, total = (
            {"metricSource": {"type": PUSHED_SOURCE, "spec": {"pushed": key}}}
            for key in ("good", "total")
        )
        return {"ratioMetric": {"counter": True, "good": good, "total": total}}
    selector = f"{{{indicator.selector}}}" if indicator.selector else ""
    return {"thresholdMetric": _source(f"{indicator.metric}_bucket{selector}")}


def _time_window_spec(window: TimeWindow) -> dict[str, Any]:
    if isinstance(window, RollingWindow):
        return {"duration": format_duration(window.duration), "isRolling": True}
    duration = next(text for text, unit in _CALENDAR_UNITS.items() if unit == window.unit)
    calendar = {"startTime": window.start.isoformat(sep=" "), "timeZone": window.time_zone}
    return {"duration": duration, "isRolling": False, "calendar": calendar}


def _alerting_json(defn: SLODefinition) -> str | None:
    alerting = defn.alerting
    if alerting == Alerting(name=default_alert_name(defn.service, defn.name)):
        return None
    data: dict[str, Any] = {}
    if alerting.name != default_alert_name(defn.service, defn.name):
        data["name"] = alerting.name
    for key, value in (
        ("labels", dict(alerting.labels)),
        ("annotations", dict(alerting.annotations)),
        ("runbookUrl", alerting.runbook_url),
    ):
        if value:
            data[key] = value
    for severity in ("page", "ticket"):
        options: SeverityAlert = getattr(alerting, severity)
        entry: dict[str, Any] = {} if options.enabled else {"enabled": False}
        for key, value in (
            ("name", options.name),
            ("labels", dict(options.labels)),
            ("annotations", dict(options.annotations)),
        ):
            if value:
                entry[key] = value
        if entry:
            data[severity] = entry
    return json.dumps(data, sort_keys=True)


def _slo_document(defn: SLODefinition, service_owner: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": defn.name}
    if defn.labels:
        metadata["labels"] = dict(defn.labels)
    annotations = {}
    if defn.owner != service_owner:
        annotations[OWNER_ANNOTATION] = defn.owner
    if defn.kind != infer_sli_kind(defn.indicator):
        annotations[SLI_KIND_ANNOTATION] = defn.kind
    alerting = _alerting_json(defn)
    if alerting is not None:
        annotations[ALERTING_ANNOTATION] = alerting
    if annotations:
        metadata["annotations"] = annotations
    objective: dict[str, Any] = {"target": float(Decimal(repr(defn.objective)) / 100)}
    if isinstance(defn.indicator, LatencyThreshold):
        le = defn.indicator.le
        objective = {"op": "lte", "value": int(le) if le.isdigit() else float(le), **objective}
    spec: dict[str, Any] = {"description": defn.description} if defn.description else {}
    spec |= {
        "service": defn.service,
        "indicator": {"metadata": {"name": defn.name}, "spec": _indicator_spec(defn.indicator)},
        "timeWindow": [_time_window_spec(defn.window)],
        "budgetingMethod": "Occurrences",
        "objectives": [objective],
    }
    return {"apiVersion": API_VERSION, "kind": "SLO", "metadata": metadata, "spec": spec}


def export_openslo(defs: list[SLODefinition]) -> list[dict[str, Any]]:
    """Service documents (owner annotation when shared by all its SLOs), then SLOs."""
    owners: dict[str, set[str]] = {}
    for defn in defs:
        owners.setdefault(defn.service, set()).add(defn.owner)
    documents = []
    service_owner = {}
    for service, names in owners.items():
        owner = next(iter(names)) if len(names) == 1 else ""
        service_owner[service] = owner
        metadata: dict[str, Any] = {"name": service}
        if owner:
            metadata["annotations"] = {OWNER_ANNOTATION: owner}
        documents.append({"apiVersion": API_VERSION, "kind": "Service", "metadata": metadata})
    documents += [_slo_document(defn, service_owner[defn.service]) for defn in defs]
    return documents
