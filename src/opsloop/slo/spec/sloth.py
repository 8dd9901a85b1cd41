"""Sloth ``prometheus/v1`` documents to and from :class:`~opsloop.slo.spec.SLODefinition`.

Sloth specs have no time window (their SLOs are read as rolling 30d), no owner and only
error-based indicators (``sli.events`` error/total or ``sli.raw.error_ratio_query``).
Service-level labels are merged into each SLO's labels; ``alerting.annotations.runbook_url``
becomes the definition's runbook URL. Exporting refuses what Sloth cannot express.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from opsloop.slo.spec.checks import (
    SpecError,
    SpecProblem,
    dns_label_problem,
    join_path,
    label_map_problems,
    normalize_query,
    objective_problem,
    query_problem,
    substitute_window,
)
from opsloop.slo.spec.model import (
    Alerting,
    BadTotalRatio,
    Indicator,
    RawErrorRatio,
    RollingWindow,
    SeverityAlert,
    SLODefinition,
    alerting_problems,
    build_definition,
    infer_sli_kind,
)
from opsloop.slo.spec.yaml_io import Reader

VERSION = "prometheus/v1"
SLOTH_WINDOW = RollingWindow(timedelta(days=30))


def parse_sloth(document: dict[str, Any], r: Reader) -> list[tuple[SLODefinition, str]]:
    """The SLOs of one Sloth document, each with the path of its name."""
    start = len(r.problems)
    r.mapping(document, "", ("version", "service", "labels", "slos"))
    version = r.text(document, "version", "", True)
    if version and version != VERSION:
        r.fail("version", f"only {VERSION} is supported")
    service = r.text(document, "service", "", True)
    if service and not r.check("service", dns_label_problem(service)):
        service = ""
    common = r.strings(document, "labels", "", scalars_as_text=True)
    r.report(label_map_problems(common, "labels"))
    slos = r.items(document, "slos", "", True)
    if not slos and "slos" in document:
        r.fail("slos", "must contain at least one SLO")
    found = []
    for index, item in enumerate(slos):
        parsed = _slo(r, item, f"slos[{index}]", service, common)
        if parsed is not None:
            found.append(parsed)
    return found if len(r.problems) == start else []


def _slo(
    r: Reader, value: object, path: str, service: str, common: Mapping[str, str]
) -> tuple[SLODefinition, str] | None:
    keys = ("name", "objective", "description", "labels", "sli", "alerting")
    slo = r.mapping(value, path, keys)
    if slo is None:
        return None
    start = len(r.problems)
    name = r.text(slo, "name", path, True)
    if name:
        r.check(f"{path}.name", dns_label_problem(name))
    objective = r.number(slo, "objective", path, True)
    if objective is not None:
        r.check(f"{path}.objective", objective_problem(objective))
    labels = r.strings(slo, "labels", path, scalars_as_text=True)
    r.report(label_map_problems(labels, f"{path}.labels"))
    description = r.text(slo, "description", path)
    indicator = _sli(r, r.value(slo, "sli", path, True), f"{path}.sli")
    alerting = _alerting(r, slo.get("alerting"), f"{path}.alerting")
    if len(r.problems) > start or indicator is None or objective is None or not service:
        return None
    defn = build_definition(
        r,
        report_under=path,
        service=service,
        name=name,
        objective=objective,
        indicator=indicator,
        window=SLOTH_WINDOW,
        description=description,
        labels={**common, **labels},
        alerting=alerting,
    )
    if defn is None:
        return None
    return defn, r.where(f"{path}.name")


def _query(r: Reader, data: Mapping[str, Any], key: str, path: str) -> str | None:
    text = r.text(data, key, path, True)
    if not text:
        return None
    query = normalize_query(text)
    return query if r.check(join_path(path, key), query_problem(query)) else None


def _sli(r: Reader, value: object, path: str) -> Indicator | None:
    sli = r.mapping(value, path, ("events", "raw", "plugin")) if value is not None else None
    if sli is None:
        return None
    if "plugin" in sli:
        r.fail(f"{path}.plugin", "SLI plugins are not supported: use events or raw")
    events, raw = sli.get("events"), sli.get("raw")
    if events is not None and raw is not None:
        r.fail(path, "give either events or raw, not both")
    elif events is not None:
        events = r.mapping(events, f"{path}.events", ("error_query", "total_query"))
        if events is None:
            return None
        error = _query(r, events, "error_query", f"{path}.events")
        total = _query(r, events, "total_query", f"{path}.events")
        return BadTotalRatio(error, total) if error and total else None
    elif raw is not None:
        raw = r.mapping(raw, f"{path}.raw", ("error_ratio_query",))
        query = _query(r, raw, "error_ratio_query", f"{path}.raw") if raw is not None else None
        return RawErrorRatio(query) if query else None
    elif "plugin" not in sli:
        r.fail(f"{path}.events", "missing (or give raw)")
    return None


def _severity(r: Reader, value: object, path: str) -> SeverityAlert:
    options = r.mapping(value, path, ("disable", "labels", "annotations")) if value else {}
    options = options or {}
    return SeverityAlert(
        enabled=not r.flag(options, "disable", path, False),
        labels=r.strings(options, "labels", path),
        annotations=r.strings(options, "annotations", path),
    )


def _alerting(r: Reader, value: object, path: str) -> Alerting:
    keys = ("name", "labels", "annotations", "page_alert", "ticket_alert")
    alerting = (r.mapping(value, path, keys) if value is not None else None) or {}
    annotations = r.strings(alerting, "annotations", path)
    result = Alerting(
        name=r.text(alerting, "name", path),
        labels=r.strings(alerting, "labels", path),
        annotations={k: v for k, v in annotations.items() if k != "runbook_url"},
        runbook_url=annotations.get("runbook_url", ""),
        page=_severity(r, alerting.get("page_alert"), f"{path}.page_alert"),
        ticket=_severity(r, alerting.get("ticket_alert"), f"{path}.ticket_alert"),
    )
    r.report(alerting_problems(result, path, ("page_alert", "ticket_alert")))
    return result


# Export.


def _unsupported(defn: SLODefinition) -> list[SpecProblem]:
    where = f"{defn.service}/{defn.name}"
    checks = [
        ("window", defn.window != SLOTH_WINDOW, "Sloth SLOs always use a rolling 30d window"),
        (
            "indicator",
            not isinstance(defn.indicator, BadTotalRatio | RawErrorRatio),
            "Sloth takes only error/total events or a raw error ratio query",
        ),
        ("owner", bool(defn.owner), "Sloth specs have no owner"),
        (
            "sli_kind",
            defn.kind != infer_sli_kind(defn.indicator),
            "Sloth specs have no SLI kind (error_rate is implied)",
        ),
        (
            "alerting",
            bool(defn.alerting.page.name or defn.alerting.ticket.name),
            "Sloth uses one alert name for page and ticket alerts",
        ),
    ]
    return [SpecProblem(f"{where}.{key}", reason) for key, bad, reason in checks if bad]


def _severity_spec(options: SeverityAlert) -> dict[str, Any]:
    spec: dict[str, Any] = {} if options.enabled else {"disable": True}
    if options.labels:
        spec["labels"] = dict(options.labels)
    if options.annotations:
        spec["annotations"] = dict(options.annotations)
    return spec


def _slo_spec(defn: SLODefinition, common: Mapping[str, str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": defn.name, "objective": defn.objective}
    if defn.description:
        spec["description"] = defn.description
    labels = {k: v for k, v in defn.labels.items() if k not in common}
    if labels:
        spec["labels"] = labels
    indicator = defn.indicator
    if isinstance(indicator, BadTotalRatio):
        events = {"error_query": indicator.bad_query, "total_query": indicator.total_query}
        spec["sli"] = {"events": {k: _sloth_query(v) for k, v in events.items()}}
    elif isinstance(indicator, RawErrorRatio):
        raw = {"error_ratio_query": _sloth_query(indicator.error_ratio_query)}
        spec["sli"] = {"raw": raw}
    alerting = defn.alerting
    out: dict[str, Any] = {"name": alerting.name}
    annotations = dict(alerting.annotations)
    if alerting.runbook_url:
        annotations["runbook_url"] = alerting.runbook_url
    if alerting.labels:
        out["labels"] = dict(alerting.labels)
    if annotations:
        out["annotations"] = annotations
    for key, options in (("page_alert", alerting.page), ("ticket_alert", alerting.ticket)):
        severity = _severity_spec(options)
        if severity:
            out[key] = severity
    spec["alerting"] = out
    return spec


def _sloth_query(query: str) -> str:
    return substitute_window(query, "{{.window}}")


def export_sloth(defs: list[SLODefinition]) -> list[dict[str, Any]]:
    problems = [problem for defn in defs for problem in _unsupported(defn)]
    if problems:
        raise SpecError(problems, source="Sloth prometheus/v1 export")
    services: dict[str, list[SLODefinition]] = {}
    for defn in defs:
        services.setdefault(defn.service, []).append(defn)
    documents = []
    for service, group in services.items():
        shared = set(group[0].labels.items())
        for defn in group[1:]:
            shared &= set(defn.labels.items())
        common = dict(sorted(shared))
        document: dict[str, Any] = {"version": VERSION, "service": service}
        if common:
            document["labels"] = common
        document["slos"] = [_slo_spec(defn, common) for defn in group]
        documents.append(document)
    return documents
