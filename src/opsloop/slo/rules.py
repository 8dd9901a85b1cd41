"""Prometheus recording and alerting rules for SLO definitions.

Every SLO gets one rule group holding, in evaluation order:

* ``slo:sli_error:ratio_rate<window>`` - the error ratio (0..1) over each alert window
  (5m, 30m, 1h, 2h, 6h, 1d, 3d) and over the whole period (e.g. ``ratio_rate30d``);
* ``slo:objective:ratio`` - the objective as a ratio (0.999);
* ``slo:error_budget:remaining_ratio`` - ``1 - period error ratio / (1 - objective)``;
* ``slo:sli_rules:info`` - always 1, with ``slo_sli_hash``: a digest of the error-ratio
  expressions above. opsloop reads the recorded ratios instead of re-running the expressions
  only where this series carries the digest of the SLO's current definition (see
  :mod:`opsloop.slo.prometheus`);
* the multiwindow multi-burn-rate alerts of :data:`DEFAULT_ALERT_WINDOWS`: one page and one
  ticket alert whose expressions ``or`` the rows of their severity.

All series carry ``slo_service``, ``slo_name`` and ``slo_objective`` (the percentage, e.g.
"99.9") plus the SLO's own labels. Calendar windows use their fixed-length equivalent
(week 7d, month 30d, quarter 90d) as the period; the rule file says so in a comment.
SLOs fed by pushed events have no Prometheus data and get no rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import timedelta
from functools import lru_cache
from typing import Any

from opsloop.slo.spec import (
    BadTotalRatio,
    CalendarWindow,
    GoodTotalRatio,
    LatencyThreshold,
    PushedEvents,
    RawErrorRatio,
    SLODefinition,
    format_number,
)
from opsloop.slo.spec.checks import render_query
from opsloop.slo.spec.yaml_io import dump_yaml
from opsloop.slo.windows import (
    ALERT_FOR,
    ALERT_WINDOWS,
    DEFAULT_ALERT_WINDOWS,
    BurnRateAlertWindow,
    Severity,
    format_duration,
)

Rule = dict[str, Any]

SERVICE_LABEL = "slo_service"
NAME_LABEL = "slo_name"
OBJECTIVE_LABEL = "slo_objective"
SEVERITY_LABEL = "severity"
ERROR_RATIO_METRIC = "slo:sli_error:ratio_rate{window}"
OBJECTIVE_METRIC = "slo:objective:ratio"
BUDGET_REMAINING_METRIC = "slo:error_budget:remaining_ratio"
RULES_INFO_METRIC = "slo:sli_rules:info"
SLI_HASH_LABEL = "slo_sli_hash"
SEVERITIES: tuple[Severity, ...] = ("page", "ticket")


@lru_cache(maxsize=64)
def error_ratio_metric(window: timedelta) -> str:
    """``slo:sli_error:ratio_rate5m`` and friends."""
    return ERROR_RATIO_METRIC.format(window=format_duration(window))


def rule_windows(defn: SLODefinition) -> list[timedelta]:
    """The windows that get an error-ratio recording rule: alert windows, then the period."""
    return sorted({*ALERT_WINDOWS, defn.period})


#: Client libraries create an error series only at the first error (and again after each
#: restart), so a healthy service may have no 5xx series at all — and a failing one no 2xx
#: series. Without this, either case reads as "no data" instead of a ratio of 0 or 1.
ABSENT_IS_ZERO = "or on() vector(0)"


def error_ratio_expr(defn: SLODefinition, window: timedelta) -> str:
    """PromQL for the SLO's error ratio (0..1) over ``window``."""
    indicator = defn.indicator
    if isinstance(indicator, GoodTotalRatio):
        good = render_query(indicator.good_query, window)
        total = render_query(indicator.total_query, window)
        return f"1 - (\n  (({good}) {ABSENT_IS_ZERO})\n  /\n  ({total})\n)"
    if isinstance(indicator, BadTotalRatio):
        bad = render_query(indicator.bad_query, window)
        total = render_query(indicator.total_query, window)
        return f"(({bad}) {ABSENT_IS_ZERO})\n/\n({total})"
    if isinstance(indicator, RawErrorRatio):
        return render_query(indicator.error_ratio_query, window)
    if isinstance(indicator, LatencyThreshold):
        return _latency_expr(indicator, format_duration(window))
    raise ValueError(f"SLO {defn.service}/{defn.name} takes pushed events: it has no PromQL")


def _latency_expr(indicator: LatencyThreshold, window: str) -> str:
    selector = indicator.selector
    le = f'le="{indicator.le}"'
    bucket = f"{indicator.metric}_bucket{{{f'{selector},{le}' if selector else le}}}"
    count = f"{indicator.metric}_count" + (f"{{{selector}}}" if selector else "")
    good = f"(sum(rate({bucket}[{window}])) {ABSENT_IS_ZERO})"
    return f"1 - (\n  {good}\n  /\n  sum(rate({count}[{window}]))\n)"


def slo_labels(defn: SLODefinition) -> dict[str, str]:
    """Labels on every series of the SLO: ``slo_*`` identity labels, then its own labels."""
    return {
        SERVICE_LABEL: defn.service,
        NAME_LABEL: defn.name,
        OBJECTIVE_LABEL: format_number(defn.objective),
        **defn.labels,
    }


#: Digests by definition object: stored specs are parsed once (``parse_stored``), so each
#: evaluation meets the same immutable objects again; kept with the object so an id is never
#: mistaken for a reused one.
_DIGESTS: dict[int, tuple[SLODefinition, str]] = {}
_DIGESTS_KEPT = 8192


def sli_hash(defn: SLODefinition) -> str:
    """A digest of every error-ratio expression the SLO's rules record.

    It changes exactly when a recorded ratio would change meaning: another query, another
    period, or another rendering of the same query by a newer opsloop. Labels and the objective
    are left out; they do not change the ratios.
    """
    known = _DIGESTS.get(id(defn))
    if known is not None and known[0] is defn:
        return known[1]
    if len(_DIGESTS) >= _DIGESTS_KEPT:
        _DIGESTS.clear()
    digest = _digest(defn)
    _DIGESTS[id(defn)] = (defn, digest)
    return digest


def _digest(defn: SLODefinition) -> str:
    text = "\n".join(
        f"{format_duration(window)}\t{error_ratio_expr(defn, window)}"
        for window in rule_windows(defn)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def slo_selector(defn: SLODefinition) -> str:
    return f'{{{SERVICE_LABEL}="{defn.service}",{NAME_LABEL}="{defn.name}"}}'


def burn_factor(row: BurnRateAlertWindow, defn: SLODefinition) -> str:
    """The row's burn-rate factor for the SLO's period, as written in expressions (14.4)."""
    return format_number(row.factor(defn.period))


def _recording_rules(defn: SLODefinition) -> list[Rule]:
    labels = slo_labels(defn)
    rules: list[Rule] = [
        {"record": error_ratio_metric(window), "expr": error_ratio_expr(defn, window)}
        for window in rule_windows(defn)
    ]
    budget = format_number(defn.error_budget)
    objective = format_number(1 - defn.error_budget)
    period_ratio = error_ratio_metric(defn.period) + slo_selector(defn)
    rules.append({"record": OBJECTIVE_METRIC, "expr": f"vector({objective})"})
    rules.append({"record": BUDGET_REMAINING_METRIC, "expr": f"1 - ({period_ratio} / {budget})"})
    rules = [{**rule, "labels": dict(labels)} for rule in rules]
    # Only this series carries the digest: on the ratios it would become a label of every
    # alert, and each spec change would start new series for dashboards and Alertmanager.
    info_labels = {**labels, SLI_HASH_LABEL: sli_hash(defn)}
    rules.append({"record": RULES_INFO_METRIC, "expr": "vector(1)", "labels": info_labels})
    return rules


def _alert_expr(defn: SLODefinition, rows: list[BurnRateAlertWindow]) -> str:
    budget = format_number(defn.error_budget)
    selector = slo_selector(defn)
    parts = []
    for row in rows:
        threshold = f"({burn_factor(row, defn)} * {budget})"
        long_ratio = error_ratio_metric(row.long_window) + selector
        short_ratio = error_ratio_metric(row.short_window) + selector
        parts.append(f"(\n  {long_ratio} > {threshold}\n  and\n  {short_ratio} > {threshold}\n)")
    return "\nor\n".join(parts)


def _alert_rules(defn: SLODefinition) -> list[Rule]:
    alerting = defn.alerting
    period = format_duration(defn.period)
    objective = format_number(defn.objective)
    rules = []
    for severity in SEVERITIES:
        options = alerting.severity(severity)
        rows = [row for row in DEFAULT_ALERT_WINDOWS if row.severity == severity]
        if not options.enabled or not rows:
            continue
        burns = " or ".join(
            f"{burn_factor(row, defn)}x over {format_duration(row.long_window)}"
            f" and {format_duration(row.short_window)}"
            for row in rows
        )
        annotations = {
            "summary": f"SLO {defn.service}/{defn.name} ({objective}% over {period}) is burning"
            " its error budget too fast",
            "description": f"Error budget burn rate above {burns}.",
        }
        if alerting.runbook_url:
            annotations["runbook_url"] = alerting.runbook_url
        rules.append(
            {
                "alert": alerting.alert_name(severity),
                "expr": _alert_expr(defn, rows),
                "for": format_duration(ALERT_FOR[severity]),
                "labels": {SEVERITY_LABEL: severity, **alerting.labels, **options.labels},
                "annotations": {**annotations, **alerting.annotations, **options.annotations},
            }
        )
    return rules


def group_name(defn: SLODefinition) -> str:
    """``slo/<service>/<name>``: unique per SLO ('/' cannot occur in either part)."""
    return f"slo/{defn.service}/{defn.name}"


def _with_queries(defs: Iterable[SLODefinition]) -> list[SLODefinition]:
    return [defn for defn in defs if not isinstance(defn.indicator, PushedEvents)]


def rule_groups(defs: Iterable[SLODefinition]) -> list[dict[str, Any]]:
    """One group per SLO: recording rules first, so alerts read this evaluation's values."""
    return [
        {"name": group_name(defn), "rules": _recording_rules(defn) + _alert_rules(defn)}
        for defn in _with_queries(defs)
    ]


def _group_comment(defn: SLODefinition) -> str:
    window = defn.window
    text = f"# SLO {defn.service}/{defn.name}: {format_number(defn.objective)}%"
    if isinstance(window, CalendarWindow):
        period = format_duration(defn.period)
        text += (
            f", calendar {window.unit} ({window.time_zone}); these rules use the fixed"
            f" {period} equivalent as the period."
        )
    else:
        text += f" over a rolling {format_duration(defn.period)} window."
    return text + "\n"


def generate_rule_file(defs: Iterable[SLODefinition]) -> str:
    """The Prometheus rule file (YAML text) for the SLOs, one commented group per SLO."""
    defs = _with_queries(defs)
    header = (
        "# Prometheus SLO rules generated by opsloop; regenerate rather than edit.\n"
        "# Error ratios: slo:sli_error:ratio_rate<window>; budget:"
        f" {BUDGET_REMAINING_METRIC}.\n"
    )
    if not defs:
        return header + "groups: []\n"
    body = "".join(_group_comment(defn) + dump_yaml(rule_groups([defn])) for defn in defs)
    return header + "groups:\n" + body
