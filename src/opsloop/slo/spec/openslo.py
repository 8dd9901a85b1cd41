"""OpenSLO v1 documents to :class:`~opsloop.slo.spec.SLODefinition` (and back: see
:mod:`opsloop.slo.spec.openslo_export`).

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
from collections.abc import Mapping
from typing import Any

from opsloop.slo.spec.checks import dns_label_problem, join_path, label_map_problems
from opsloop.slo.spec.model import (
    SLI_KINDS,
    Alerting,
    Indicator,
    LatencyThreshold,
    SeverityAlert,
    SLODefinition,
    alerting_problems,
    build_definition,
    kind_problem,
)
from opsloop.slo.spec.openslo_fields import parse_objective, parse_sli_spec, parse_time_window
from opsloop.slo.spec.yaml_io import Reader

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
_ALERTS = "opsloop derives multiwindow burn-rate alerts from each SLO"
_ALERTS += f" (options: the {ALERTING_ANNOTATION} annotation)"
_UNSUPPORTED_KINDS = {
    "AlertPolicy": _ALERTS,
    "AlertCondition": _ALERTS,
    "AlertNotificationTarget": _ALERTS,
    "DataSource": "give metricSource.type: Prometheus and spec.query inline",
}
_ANNOTATIONS = "metadata.annotations"


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
            self.slis[name] = parse_sli_spec(r, spec, "spec") if spec is not None else None

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
        window = parse_time_window(r, spec)
        threshold = None if indicator is None else isinstance(indicator, LatencyThreshold)
        objective, le = parse_objective(r, spec, threshold)
        if isinstance(indicator, LatencyThreshold):
            indicator = LatencyThreshold(indicator.metric, le, indicator.selector)
        kind = annotations.get(SLI_KIND_ANNOTATION)
        if kind is not None and indicator is not None:
            r.check(join_path(_ANNOTATIONS, SLI_KIND_ANNOTATION), kind_problem(kind, indicator))
        alerting = _alerting(r, annotations.get(ALERTING_ANNOTATION))
        owner = annotations.get(OWNER_ANNOTATION, self.owners.get(service, ""))
        if len(r.problems) > start or indicator is None or window is None or objective is None:
            return None
        defn = build_definition(
            r,
            report_under=None,
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
        return None if defn is None else (defn, r.where("metadata.name"))

    def _indicator(self, r: Reader, spec: Mapping[str, Any]) -> Indicator | None:
        inline, ref = spec.get("indicator"), spec.get("indicatorRef")
        if inline is not None and ref is not None:
            r.fail("spec", "give either indicator or indicatorRef, not both")
        elif inline is not None:
            indicator = r.mapping(inline, "spec.indicator", ("metadata", "spec")) or {}
            if indicator.get("metadata") is not None:
                r.mapping(indicator["metadata"], "spec.indicator.metadata", _METADATA)
            value = r.value(indicator, "spec", "spec.indicator", bool(indicator))
            return parse_sli_spec(r, value, "spec.indicator.spec") if value is not None else None
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
