"""OpenSLO v1 documents from :class:`~opsloop.slo.spec.SLODefinition`, shaped so that
:mod:`opsloop.slo.spec.openslo` parses them back into equal definitions."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from opsloop.slo.spec.model import (
    Alerting,
    BadTotalRatio,
    GoodTotalRatio,
    Indicator,
    LatencyThreshold,
    PushedEvents,
    RawErrorRatio,
    RollingWindow,
    SeverityAlert,
    SLODefinition,
    TimeWindow,
    default_alert_name,
    infer_sli_kind,
)
from opsloop.slo.spec.openslo import (
    ALERTING_ANNOTATION,
    API_VERSION,
    OWNER_ANNOTATION,
    SLI_KIND_ANNOTATION,
)
from opsloop.slo.spec.openslo_fields import CALENDAR_UNITS, PUSHED_SOURCE
from opsloop.slo.windows import format_duration


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
    duration = next(text for text, unit in CALENDAR_UNITS.items() if unit == window.unit)
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
