"""SLO spec layer: the model, OpenSLO/Sloth parsing, validation messages and round trips."""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.slo.spec import (
    Alerting,
    BadTotalRatio,
    CalendarWindow,
    GoodTotalRatio,
    LatencyThreshold,
    PushedEvents,
    RawErrorRatio,
    RollingWindow,
    SeverityAlert,
    SLODefinition,
    parse_documents,
    to_openslo,
    to_sloth,
)
from opsloop.slo.spec.checks import SpecError, canonical_le, render_query

FIXTURES = Path(__file__).parent / "fixtures"
ALERTING_PATH = 'metadata.annotations["opsloop.dev/alerting"]'
RATIO = "spec.indicator.spec.ratioMetric"


def load(name: str) -> list[SLODefinition]:
    return parse_documents((FIXTURES / name).read_text(), name)


def problems_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_documents(text, "test.yaml")
    return info.value.messages


def by_key(defs: list[SLODefinition]) -> list[SLODefinition]:
    return sorted(defs, key=lambda d: (d.service, d.name))


# --------------------------------------------------------------------------- fixtures


def test_openslo_inline_good_total() -> None:
    [defn] = load("openslo_inline_good_total.yaml")
    assert defn == SLODefinition(
        service="checkout",
        name="availability",
        objective=99.9,
        indicator=GoodTotalRatio(
            good_query='sum(rate(http_requests_total{job="checkout",code!~"5.."}[$window]))',
            total_query='sum(rate(http_requests_total{job="checkout"}[$window]))',
        ),
        window=RollingWindow(timedelta(days=30)),
        description="Share of checkout requests answered without a server error",
        owner="team-payments",
        labels={"tier": "1"},
        alerting=Alerting(
            runbook_url="https://runbooks.example.com/checkout", labels={"team": "payments"}
        ),
    )
    assert defn.kind == "availability"
    assert defn.alerting.name == "CheckoutAvailabilityErrorBudgetBurn"
    assert defn.error_budget == Decimal("0.001")


def test_openslo_indicator_ref_bad_total_inherits_service_owner() -> None:
    [defn] = load("openslo_indicator_ref.yaml")
    assert defn.indicator == BadTotalRatio(
        'sum(rate(http_requests_total{job="search",code=~"5.."}[$window]))',
        'sum(rate(http_requests_total{job="search"}[$window]))',
    )
    assert (defn.service, defn.name, defn.objective) == ("search", "error-rate", 99.5)
    assert defn.owner == "team-discovery"
    assert defn.window == RollingWindow(timedelta(days=28))
    assert defn.kind == "error_rate"


def test_openslo_threshold_metric_is_histogram_latency() -> None:
    [defn] = load("openslo_latency.yaml")
    assert defn.indicator == LatencyThreshold(
        metric="http_request_duration_seconds", le="0.3", selector='job="search",route!="/health"'
    )
    assert defn.window == CalendarWindow("month", "Europe/Berlin", datetime(2024, 1, 1))
    assert defn.period == timedelta(days=30)
    assert defn.kind == "latency"
    assert defn.objective == 99.0


def test_sloth_events_and_raw() -> None:
    events, raw = load("sloth_service.yaml")
    assert events.service == raw.service == "payments-api"
    assert events.indicator == BadTotalRatio(
        'sum(rate(http_request_duration_seconds_count{job="payments",code=~"5.."}[$window]))',
        'sum(rate(http_request_duration_seconds_count{job="payments"}[$window]))',
    )
    assert events.labels == {"owner_team": "payments", "category": "availability"}
    assert events.window == RollingWindow(timedelta(days=30))
    assert events.description == "Payment requests without 5xx answers"
    assert events.alerting == Alerting(
        name="PaymentsAvailability",
        labels={"category": "availability"},
        runbook_url="https://runbooks.example.com/payments",
        page=SeverityAlert(labels={"routing": "pager"}),
        ticket=SeverityAlert(labels={"routing": "tickets"}),
    )
    assert raw.indicator == RawErrorRatio(
        "sum(rate(payments_provider_errors_total[$window]))\n/\n"
        "sum(rate(payments_provider_calls_total[$window]))"
    )
    assert raw.objective == 99.0
    assert raw.labels == {"owner_team": "payments"}
    assert raw.alerting.page.enabled and not raw.alerting.ticket.enabled


def test_mixed_multi_doc_keeps_document_order() -> None:
    defs = load("mixed_multi_doc.yaml")
    assert [(d.service, d.name, d.objective) for d in defs] == [
        ("auth", "logins", 99.95),
        ("auth", "token-refresh", 99.0),
    ]
    assert defs[1].window == RollingWindow(timedelta(days=7))


@pytest.mark.parametrize("placeholder", ["{{.window}}", "{{ .window }}", "${window}", "$window"])
def test_window_placeholders_are_normalised(placeholder: str) -> None:
    indicator = RawErrorRatio(f"  avg_over_time(errors:ratio[{placeholder}])\n")
    assert indicator.error_ratio_query == "avg_over_time(errors:ratio[$window])"
    assert render_query(indicator.error_ratio_query, timedelta(hours=6)) == (
        "avg_over_time(errors:ratio[6h])"
    )


def test_empty_text_has_no_definitions() -> None:
    assert parse_documents("", "empty.yaml") == []
    assert parse_documents("---\n# nothing\n", "empty.yaml") == []


# --------------------------------------------------------------------------- rejections

OPENSLO: dict[str, Any] = yaml.safe_load((FIXTURES / "checkout_availability.yaml").read_text())
SLOTH: dict[str, Any] = yaml.safe_load((FIXTURES / "sloth_service.yaml").read_text())
DELETE = object()
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def changed(base: dict[str, Any], changes: dict[str, object]) -> str:
    """``base`` with values replaced at dotted paths (``DELETE`` removes the key)."""
    doc = copy.deepcopy(base)
    for dotted, value in changes.items():
        tokens: list[str | int] = [name or int(index) for name, index in _TOKEN.findall(dotted)]
        node: Any = doc
        for token in tokens[:-1]:
            node = node[token]
        if value is DELETE:
            del node[tokens[-1]]
        else:
            node[tokens[-1]] = value
    return yaml.safe_dump(doc, sort_keys=False)


GOOD_QUERY = {"metricSource": {"type": "Prometheus", "spec": {"query": "sum(rate(x[$window]))"}}}
HISTOGRAM = {
    "metricSource": {"type": "Prometheus", "spec": {"query": 'latency_seconds_bucket{job="a"}'}}
}

OPENSLO_CASES: list[tuple[str, dict[str, object], list[str]]] = [
    ("missing total", {f"{RATIO}.total": DELETE}, [f"{RATIO}.total: missing"]),
    (
        "good and bad",
        {f"{RATIO}.good": GOOD_QUERY},
        [f"{RATIO}: give either good or bad, not both"],
    ),
    (
        "neither good nor bad",
        {f"{RATIO}.bad": DELETE},
        [f"{RATIO}.good: missing (or give bad)"],
    ),
    (
        "counter false",
        {f"{RATIO}.counter": False},
        [f"{RATIO}.counter: must be true: queries are counter rates over $window"],
    ),
    (
        "no window placeholder",
        {f"{RATIO}.total.metricSource.spec.query": "sum(http_requests_total)"},
        [
            f"{RATIO}.total.metricSource.spec.query: "
            "must contain the window placeholder $window (or {{.window}})"
        ],
    ),
    (
        "other template",
        {f"{RATIO}.total.metricSource.spec.query": "sum(rate(x{a='{{.service}}'}[$window]))"},
        [
            f"{RATIO}.total.metricSource.spec.query: "
            "contains a template expression other than the window placeholder"
        ],
    ),
    (
        "other metric source type",
        {f"{RATIO}.bad.metricSource.type": "Datadog"},
        [f"{RATIO}.bad.metricSource.type: only Prometheus is supported"],
    ),
    (
        "metricSourceRef",
        {
            f"{RATIO}.bad.metricSource": {
                "metricSourceRef": "prom",
                "spec": {"query": "rate(x[$window])"},
            }
        },
        [
            f"{RATIO}.bad.metricSource.metricSourceRef: not supported: give type and spec inline",
            f"{RATIO}.bad.metricSource.type: missing",
        ],
    ),
    (
        "raw success",
        {RATIO: {"counter": False, "rawType": "success", "raw": GOOD_QUERY}},
        [f"{RATIO}.rawType: only failure is supported (an error ratio query)"],
    ),
    (
        "raw with total",
        {f"{RATIO}.raw": GOOD_QUERY, f"{RATIO}.rawType": "failure"},
        [
            f"{RATIO}.bad: cannot be combined with raw",
            f"{RATIO}.total: cannot be combined with raw",
        ],
    ),
    (
        "target as percent",
        {"spec.objectives[0].target": 99.9},
        ["spec.objectives[0].target: must be between 0 and 1 (exclusive), e.g. 0.999"],
    ),
    (
        "target and targetPercent",
        {"spec.objectives[0].targetPercent": 99.9},
        ["spec.objectives[0]: give either target or targetPercent, not both"],
    ),
    (
        "targetPercent out of range",
        {"spec.objectives[0]": {"targetPercent": 100}},
        [
            "spec.objectives[0].targetPercent: "
            "must be a percentage between 0 and 100 (exclusive), e.g. 99.9"
        ],
    ),
    (
        "no target",
        {"spec.objectives[0]": {"displayName": "x"}},
        ["spec.objectives[0].target: missing (or give targetPercent)"],
    ),
    (
        "two objectives",
        {"spec.objectives": [{"target": 0.99}, {"target": 0.999}]},
        ["spec.objectives: only one objective is supported (found 2)"],
    ),
    (
        "timeslices objective",
        {"spec.objectives[0].timeSliceTarget": 0.95},
        [
            "spec.objectives[0].timeSliceTarget: "
            "only for Timeslices budgeting, which is not supported"
        ],
    ),
    (
        "op on a ratio",
        {"spec.objectives[0].op": "lte"},
        ["spec.objectives[0].op: only used with thresholdMetric"],
    ),
    (
        "timeslices",
        {"spec.budgetingMethod": "Timeslices"},
        [
            "spec.budgetingMethod: Timeslices is not supported: "
            "opsloop budgets by occurrences (good or bad events / total)"
        ],
    ),
    (
        "unknown budgeting",
        {"spec.budgetingMethod": "Events"},
        ["spec.budgetingMethod: must be Occurrences"],
    ),
    ("no budgeting", {"spec.budgetingMethod": DELETE}, ["spec.budgetingMethod: missing"]),
    (
        "rolling month",
        {"spec.timeWindow[0].duration": "1M"},
        ["spec.timeWindow[0].duration: rolling windows need a fixed duration such as 28d or 30d"],
    ),
    (
        "rolling window too short",
        {"spec.timeWindow[0].duration": "1d"},
        ["spec.timeWindow[0].duration: must be longer than 3d, the longest burn-rate alert window"],
    ),
    (
        "no isRolling",
        {"spec.timeWindow[0].isRolling": DELETE},
        ["spec.timeWindow[0].isRolling: missing"],
    ),
    (
        "calendar fortnight",
        {"spec.timeWindow[0]": {"duration": "2w", "isRolling": False}},
        [
            "spec.timeWindow[0].duration: "
            "calendar windows must be 1w, 1M or 1Q (week, month, quarter)"
        ],
    ),
    (
        "unknown time zone",
        {
            "spec.timeWindow[0]": {
                "duration": "1M",
                "isRolling": False,
                "calendar": {"timeZone": "Mars/Olympus_Mons"},
            }
        },
        ["spec.timeWindow[0].calendar.timeZone: unknown IANA time zone 'Mars/Olympus_Mons'"],
    ),
    (
        "month starting on the 31st",
        {
            "spec.timeWindow[0]": {
                "duration": "1M",
                "isRolling": False,
                "calendar": {"startTime": "2024-01-31 00:00:00", "timeZone": "UTC"},
            }
        },
        [
            "spec.timeWindow[0].calendar.startTime: "
            "months and quarters must start on day 1..28 (a day every month has)"
        ],
    ),
    (
        "calendar on a rolling window",
        {"spec.timeWindow[0].calendar": {"timeZone": "UTC"}},
        ["spec.timeWindow[0].calendar: only used with isRolling: false"],
    ),
    (
        "two windows",
        {"spec.timeWindow": [{"duration": "7d", "isRolling": True}] * 2},
        ["spec.timeWindow: only one time window is supported (found 2)"],
    ),
    (
        "bad name",
        {"metadata.name": "Checkout_Availability"},
        [
            "metadata.name: "
            "must be 1-63 lowercase letters, digits or '-', starting and ending alphanumeric"
        ],
    ),
    ("no service", {"spec.service": DELETE}, ["spec.service: missing"]),
    ("empty service", {"spec.service": ""}, ["spec.service: must not be empty"]),
    (
        "misspelt field",
        {"spec.indicator": DELETE, "spec.indicatr": {}},
        ["spec.indicatr: unknown field", "spec.indicator: missing (or give spec.indicatorRef)"],
    ),
    (
        "dangling indicatorRef",
        {"spec.indicator": DELETE, "spec.indicatorRef": "nope"},
        ["spec.indicatorRef: no SLI document named 'nope' in this file"],
    ),
    (
        "indicator and indicatorRef",
        {"spec.indicatorRef": "nope"},
        ["spec: give either indicator or indicatorRef, not both"],
    ),
    (
        "neither ratio nor threshold",
        {"spec.indicator.spec": {"description": "x"}},
        ["spec.indicator.spec.ratioMetric: missing (or give thresholdMetric)"],
    ),
    (
        "reserved label",
        {"metadata.labels.slo_service": "x"},
        ["metadata.labels.slo_service: label name reserved by opsloop"],
    ),
    (
        "invalid label name",
        {"metadata.labels": {"team-name": "x", "tier": ["1", "2"]}},
        [
            "metadata.labels.tier: expected a string",
            'metadata.labels["team-name"]: invalid label name',
        ],
    ),
    (
        "alert policies",
        {"spec.alertPolicies": ["page-on-call"]},
        [
            "spec.alertPolicies: not supported: opsloop derives multiwindow burn-rate alerts "
            "from each SLO (options: the opsloop.dev/alerting annotation)"
        ],
    ),
    (
        "alerting is not JSON",
        {"metadata.annotations": {"opsloop.dev/alerting": "{name: X}"}},
        [
            f"{ALERTING_PATH}: invalid JSON: "
            "Expecting property name enclosed in double quotes (column 2)"
        ],
    ),
    (
        "alerting fields",
        {
            "metadata.annotations": {
                "opsloop.dev/alerting": '{"page": {"enabled": "no"}, "labels": {"alertname": "x"},'
                ' "name": "9lives", "severity": "page"}'
            }
        },
        [
            f"{ALERTING_PATH}.severity: unknown field",
            f"{ALERTING_PATH}.page.enabled: expected true or false",
            f"{ALERTING_PATH}.labels.alertname: label name reserved by opsloop",
            f"{ALERTING_PATH}.name: "
            "invalid alert name (letters, digits, '_' or ':', not starting with a digit)",
        ],
    ),
    (
        "latency kind on a ratio",
        {"metadata.annotations": {"opsloop.dev/sli-kind": "latency"}},
        [
            'metadata.annotations["opsloop.dev/sli-kind"]: '
            "latency needs a histogram threshold indicator (or pushed events)"
        ],
    ),
    (
        "unknown opsloop annotation",
        {"metadata.annotations": {"opsloop.dev/team": "x"}},
        ['metadata.annotations["opsloop.dev/team"]: unknown opsloop annotation'],
    ),
    (
        "threshold with gte",
        {"spec.indicator.spec": {"thresholdMetric": HISTOGRAM}, "spec.objectives[0].op": "gte"},
        [
            "spec.objectives[0].value: missing",
            "spec.objectives[0].op: must be lte: requests at or below the threshold are good",
        ],
    ),
    (
        "threshold on a quantile query",
        {
            "spec.indicator.spec": {
                "thresholdMetric": {
                    "metricSource": {
                        "type": "Prometheus",
                        "spec": {"query": "histogram_quantile(0.99, rate(x_bucket[5m]))"},
                    }
                }
            },
            "spec.objectives[0].op": "lte",
            "spec.objectives[0].value": 0.3,
        },
        [
            "spec.indicator.spec.thresholdMetric.metricSource.spec.query: "
            'must be a histogram selector such as latency_seconds_bucket{job="api"}'
        ],
    ),
    (
        "threshold selector on le",
        {
            "spec.indicator.spec": {
                "thresholdMetric": {
                    "metricSource": {"type": "Prometheus", "spec": {"query": 'x_bucket{le="1"}'}}
                }
            },
            "spec.objectives[0].op": "lte",
            "spec.objectives[0].value": 1,
        },
        [
            "spec.indicator.spec.thresholdMetric.metricSource.spec.query: "
            'must be label matchers such as job="api",code!~"5.." (without le)'
        ],
    ),
    (
        "wrong apiVersion",
        {"apiVersion": "openslo/v1alpha"},
        ["apiVersion: only openslo/v1 is supported"],
    ),
    (
        "alert policy document",
        {"kind": "AlertPolicy"},
        [
            "kind: AlertPolicy is not supported: opsloop derives multiwindow burn-rate alerts "
            "from each SLO (options: the opsloop.dev/alerting annotation)"
        ],
    ),
    ("unknown kind", {"kind": "Budget"}, ["kind: unknown kind (expected SLO, SLI or Service)"]),
]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [pytest.param(c, e, id=i) for i, c, e in OPENSLO_CASES],
)
def test_openslo_rejections(changes: dict[str, object], expected: list[str]) -> None:
    assert problems_of(changed(OPENSLO, changes)) == expected


SLO0 = "slos[0]"
SLOTH_CASES: list[tuple[str, dict[str, object], list[str]]] = [
    (
        "missing total",
        {f"{SLO0}.sli.events.total_query": DELETE},
        [f"{SLO0}.sli.events.total_query: missing"],
    ),
    ("wrong version", {"version": "prometheus/v2"}, ["version: only prometheus/v1 is supported"]),
    ("no service", {"service": DELETE}, ["service: missing"]),
    ("empty service", {"service": ""}, ["service: must not be empty"]),
    (
        "empty query",
        {f"{SLO0}.sli.events.error_query": ""},
        [f"{SLO0}.sli.events.error_query: must not be empty"],
    ),
    ("no SLOs", {"slos": []}, ["slos: must contain at least one SLO"]),
    ("unknown field", {"owner": "x"}, ["owner: unknown field"]),
    (
        "objective 100",
        {f"{SLO0}.objective": 100},
        [f"{SLO0}.objective: must be a percentage between 0 and 100 (exclusive), e.g. 99.9"],
    ),
    ("objective text", {f"{SLO0}.objective": "high"}, [f"{SLO0}.objective: expected a number"]),
    (
        "no window placeholder",
        {f"{SLO0}.sli.events.error_query": "sum(errors_total)"},
        [
            f"{SLO0}.sli.events.error_query: "
            "must contain the window placeholder $window (or {{.window}})"
        ],
    ),
    (
        "events and raw",
        {f"{SLO0}.sli.raw": {"error_ratio_query": "x[{{.window}}]"}},
        [f"{SLO0}.sli: give either events or raw, not both"],
    ),
    (
        "plugin",
        {f"{SLO0}.sli": {"plugin": {"id": "sloth-common/availability"}}},
        [f"{SLO0}.sli.plugin: SLI plugins are not supported: use events or raw"],
    ),
    ("empty sli", {f"{SLO0}.sli": {}}, [f"{SLO0}.sli.events: missing (or give raw)"]),
    ("no sli", {f"{SLO0}.sli": DELETE}, [f"{SLO0}.sli: missing"]),
    (
        "bad alert name",
        {f"{SLO0}.alerting.name": "Payments Availability"},
        [
            f"{SLO0}.alerting.name: "
            "invalid alert name (letters, digits, '_' or ':', not starting with a digit)"
        ],
    ),
    (
        "reserved alert label",
        {f"{SLO0}.alerting.page_alert.labels.alertname": "x"},
        [f"{SLO0}.alerting.page_alert.labels.alertname: label name reserved by opsloop"],
    ),
    (
        "disable as text",
        {f"{SLO0}.alerting.ticket_alert.disable": "yes please"},
        [f"{SLO0}.alerting.ticket_alert.disable: expected true or false"],
    ),
    (
        "second SLO broken too",
        {"slos[1].name": "Provider", f"{SLO0}.labels.slo_name": "x"},
        [
            f"{SLO0}.labels.slo_name: label name reserved by opsloop",
            "slos[1].name: "
            "must be 1-63 lowercase letters, digits or '-', starting and ending alphanumeric",
        ],
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [pytest.param(c, e, id=i) for i, c, e in SLOTH_CASES],
)
def test_sloth_rejections(changes: dict[str, object], expected: list[str]) -> None:
    assert problems_of(changed(SLOTH, changes)) == expected


def test_multi_doc_problems_carry_the_document_index() -> None:
    broken = changed(SLOTH, {f"{SLO0}.sli.events.total_query": DELETE})
    text = (FIXTURES / "mixed_multi_doc.yaml").read_text() + "---\n" + broken
    assert problems_of(text) == ["documents[2].slos[0].sli.events.total_query: missing"]


def test_parsing_is_all_or_nothing() -> None:
    valid = (FIXTURES / "sloth_service.yaml").read_text()
    broken = changed(OPENSLO, {"spec.objectives[0].target": 2})
    with pytest.raises(SpecError) as info:
        parse_documents(valid + "---\n" + broken, "both.yaml")
    assert info.value.messages == [
        "documents[1].spec.objectives[0].target: must be between 0 and 1 (exclusive), e.g. 0.999"
    ]
    assert info.value.source == "both.yaml"
    assert str(info.value).startswith(
        "both.yaml: invalid SLO spec (1 problem(s)):\n  - documents[1]"
    )


def test_duplicate_slo_in_one_sloth_document() -> None:
    text = changed(SLOTH, {"slos[1].name": "requests-availability"})
    assert problems_of(text) == [
        "slos[1].name: duplicate SLO payments-api/requests-availability "
        "(first defined at slos[0].name)"
    ]


def test_duplicate_slo_across_documents() -> None:
    text = (FIXTURES / "checkout_availability.yaml").read_text()
    assert problems_of(text + "---\n" + text) == [
        "documents[1].metadata.name: duplicate SLO checkout/availability "
        "(first defined at documents[0].metadata.name)"
    ]


def test_same_name_in_other_services_is_fine() -> None:
    text = (FIXTURES / "checkout_availability.yaml").read_text()
    other = changed(OPENSLO, {"spec.service": "cart"})
    assert [d.service for d in parse_documents(text + "---\n" + other)] == ["checkout", "cart"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "version: prometheus/v1\nslos: [\n",
            "line 3, column 1: invalid YAML: expected the node content, but found '<stream end>'",
        ),
        ("a: 1\n  b: 2\n", "line 2, column 4: invalid YAML: mapping values are not allowed here"),
        ("service: a\nservice: b\n", "line 2, column 1: invalid YAML: duplicate key 'service'"),
    ],
)
def test_invalid_yaml_reports_line_and_column(text: str, expected: str) -> None:
    assert problems_of(text) == [expected]


def test_unknown_document() -> None:
    assert problems_of("- just\n- a list\n") == [
        "expected an OpenSLO v1 or Sloth prometheus/v1 document"
    ]
    assert problems_of("kind: SLO\n---\nfoo: bar\n") == [
        "documents[0]: expected an OpenSLO v1 or Sloth prometheus/v1 document",
        "documents[1]: expected an OpenSLO v1 or Sloth prometheus/v1 document",
    ]


PUSHED_RATIO = {
    "counter": True,
    "good": {"metricSource": {"type": "opsloop", "spec": {"pushed": "good"}}},
    "total": {"metricSource": {"type": "opsloop", "spec": {"pushed": "total"}}},
}


def test_pushed_events_in_openslo() -> None:
    changes: dict[str, object] = {RATIO: PUSHED_RATIO, "metadata.annotations": {}}
    [defn] = parse_documents(changed(OPENSLO, changes))
    assert defn.indicator == PushedEvents()
    assert defn.kind == "availability"
    latency = SLODefinition("api", "fast", 99, PushedEvents(), sli_kind="latency")
    assert parse_documents(to_openslo([latency])) == [latency]


def test_pushed_events_rejections() -> None:
    bad = {"metricSource": {"type": "opsloop", "spec": {"pushed": "bad"}}}
    changes: dict[str, object] = {RATIO: {**PUSHED_RATIO, "bad": bad, "total": GOOD_QUERY}}
    assert problems_of(changed(OPENSLO, changes)) == [
        f"{RATIO}.bad: pushed events are good and total counts only",
        f"{RATIO}.total: pushed events need metricSource type opsloop, spec pushed: total",
    ]
    with pytest.raises(SpecError) as info:
        to_sloth([SLODefinition("api", "up", 99, PushedEvents())])
    assert info.value.messages == [
        "api/up.indicator: Sloth takes only error/total events or a raw error ratio query",
    ]


def test_service_and_sli_documents_alone_define_nothing() -> None:
    text = (FIXTURES / "openslo_indicator_ref.yaml").read_text().rsplit("---", 1)[0]
    assert parse_documents(text) == []


# --------------------------------------------------------------------------- the model

AVAILABILITY = BadTotalRatio("sum(rate(e[$window]))", "sum(rate(t[$window]))")


def test_model_validates_on_construction() -> None:
    with pytest.raises(SpecError) as info:
        SLODefinition(
            service="Checkout",
            name="availability",
            objective=100,
            indicator=BadTotalRatio("sum(errors)", "sum(rate(t[$window]))"),
            window=CalendarWindow("month", "Nowhere/Land"),
            labels={"slo_name": "x", "env": ""},
            sli_kind="latency",
        )
    assert info.value.source == "SLO Checkout/availability"
    assert info.value.messages == [
        "service: must be 1-63 lowercase letters, digits or '-', starting and ending alphanumeric",
        "objective: must be a percentage between 0 and 100 (exclusive), e.g. 99.9",
        "sli_kind: latency needs a histogram threshold indicator (or pushed events)",
        "indicator.bad_query: must contain the window placeholder $window (or {{.window}})",
        "window.time_zone: unknown IANA time zone 'Nowhere/Land'",
        "labels.env: must not be empty",
        "labels.slo_name: label name reserved by opsloop",
    ]


def test_latency_model_checks() -> None:
    with pytest.raises(SpecError) as info:
        SLODefinition("api", "latency", 99, LatencyThreshold("latency_bucket", "0.30", "job=api"))
    assert info.value.messages == [
        "indicator.metric: give the histogram name without the _bucket/_count/_sum suffix",
        "indicator.le: write the bound as 0.3",
        'indicator.selector: must be label matchers such as job="api",code!~"5.." (without le)',
    ]


def test_defaults_are_filled_in() -> None:
    defn = SLODefinition("9-lives", "up", 99.5, AVAILABILITY)
    assert defn.sli_kind == defn.kind == "error_rate"
    assert defn.window == RollingWindow(timedelta(days=30))
    assert defn.alerting.name == "Slo9LivesUpErrorBudgetBurn"
    assert defn.alerting.alert_name("page") == defn.alerting.alert_name("ticket")
    assert (
        SLODefinition("a", "b", 99, AVAILABILITY, alerting=Alerting.disabled()).alerting.enabled
        is False
    )


def test_definitions_are_immutable() -> None:
    defn = SLODefinition("api", "up", 99.9, AVAILABILITY, labels={"team": "a"})
    with pytest.raises(TypeError):
        cast(Any, defn.labels)["team"] = "b"


def test_canonical_le() -> None:
    assert [canonical_le(v) for v in (1, 0.3, 2.5, 1.0)] == ["1", "0.3", "2.5", "1.0"]


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize(
    "name",
    [
        "openslo_inline_good_total.yaml",
        "openslo_indicator_ref.yaml",
        "openslo_latency.yaml",
        "sloth_service.yaml",
        "mixed_multi_doc.yaml",
        "checkout_availability.yaml",
    ],
)
def test_openslo_round_trip_of_fixtures(name: str) -> None:
    defs = load(name)
    assert parse_documents(to_openslo(defs)) == defs


@pytest.mark.parametrize("name", ["sloth_service.yaml", "mixed_multi_doc.yaml"])
def test_sloth_round_trip_of_fixtures(name: str) -> None:
    defs = [d for d in load(name) if d.window == RollingWindow(timedelta(days=30))]
    assert by_key(parse_documents(to_sloth(defs))) == by_key(defs)


def test_sloth_export_groups_by_service_and_hoists_shared_labels() -> None:
    defs = load("sloth_service.yaml")
    [document] = yaml.safe_load_all(to_sloth(defs))
    assert document["version"] == "prometheus/v1"
    assert document["service"] == "payments-api"
    assert document["labels"] == {"owner_team": "payments"}
    assert [slo["name"] for slo in document["slos"]] == ["requests-availability", "provider-errors"]
    events = document["slos"][0]["sli"]["events"]
    assert events["error_query"].endswith('code=~"5.."}[{{.window}}]))')
    assert document["slos"][1]["alerting"]["ticket_alert"] == {"disable": True}


def test_sloth_export_refuses_what_sloth_cannot_express() -> None:
    defs = load("openslo_latency.yaml") + load("openslo_inline_good_total.yaml")
    with pytest.raises(SpecError) as info:
        to_sloth(defs)
    assert info.value.messages == [
        "search/latency.window: Sloth SLOs always use a rolling 30d window",
        "search/latency.indicator: Sloth takes only error/total events or a raw error ratio query",
        "checkout/availability.indicator: "
        "Sloth takes only error/total events or a raw error ratio query",
        "checkout/availability.owner: Sloth specs have no owner",
    ]


def test_openslo_export_shape() -> None:
    documents = list(yaml.safe_load_all(to_openslo(load("openslo_latency.yaml"))))
    assert [d["kind"] for d in documents] == ["Service", "SLO"]
    spec = documents[1]["spec"]
    assert spec["objectives"] == [{"op": "lte", "value": 0.3, "target": 0.99}]
    assert spec["timeWindow"] == [
        {
            "duration": "1M",
            "isRolling": False,
            "calendar": {"startTime": "2024-01-01 00:00:00", "timeZone": "Europe/Berlin"},
        }
    ]
    query = spec["indicator"]["spec"]["thresholdMetric"]["metricSource"]["spec"]["query"]
    assert query == 'http_request_duration_seconds_bucket{job="search",route!="/health"}'


# --------------------------------------------------------------------------- properties

NAMES = st.from_regex(r"\A[a-z][a-z0-9-]{0,12}[a-z0-9]\Z")
SERVICES = st.one_of(st.sampled_from(["api", "web", "db"]), NAMES)
LABEL_NAMES = st.from_regex(r"\A[a-z][a-z0-9_]{0,12}\Z").filter(
    lambda s: not s.startswith("slo_") and s not in ("alertname", "runbook_url")
)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
VALUES = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=20)
LABELS = st.dictionaries(LABEL_NAMES, VALUES, max_size=3)
ALERT_NAMES = st.from_regex(r"\A[A-Z][A-Za-z0-9_:]{0,20}\Z")
METRICS = st.from_regex(r"\A[a-z_][a-z0-9_]{0,15}\Z")
# Label values inside queries: valid PromQL strings; regex matchers get valid RE2 patterns.
QUERY_VALUES = st.text(
    st.characters(exclude_characters='"\\{}', exclude_categories=["Cs", "Cc"]), max_size=10
)
REGEXES = st.from_regex(r"\A[a-z0-9|]{0,8}\Z")


@st.composite
def queries(draw: st.DrawFn) -> str:
    metric, value = draw(METRICS), draw(QUERY_VALUES)
    template = draw(
        st.sampled_from(
            [
                'sum(rate({m}_total{{job="{v}"}}[$window]))',
                'sum by (cluster) (\n  increase({m}_total{{job="{v}"}}[$window])\n)',
                'avg_over_time({m}:ratio{{job="{v}"}}[$window])',
            ]
        )
    )
    return template.format(m=metric, v=value)


@st.composite
def indicators(draw: st.DrawFn, sloth: bool = False) -> Any:
    kinds = ["bad", "raw"] if sloth else ["good", "bad", "raw", "latency", "pushed"]
    choice = draw(st.sampled_from(kinds))
    if choice == "pushed":
        return PushedEvents()
    if choice == "good":
        return GoodTotalRatio(draw(queries()), draw(queries()))
    if choice == "bad":
        return BadTotalRatio(draw(queries()), draw(queries()))
    if choice == "raw":
        return RawErrorRatio(draw(queries()))
    bound = draw(st.one_of(st.integers(1, 60), st.floats(0.001, 100.0)))
    operators = st.sampled_from(["=", "!=", "=~", "!~"])
    names = LABEL_NAMES.filter(lambda n: n != "le")
    matchers = draw(st.lists(st.tuples(names, operators), max_size=3))
    values = [draw(REGEXES if "~" in op else QUERY_VALUES) for _, op in matchers]
    selector = ",".join(f'{n}{op}"{v}"' for (n, op), v in zip(matchers, values, strict=True))
    return LatencyThreshold(draw(METRICS), canonical_le(bound), selector)


WINDOWS = st.one_of(
    st.builds(RollingWindow, st.integers(73, 24 * 400).map(lambda h: timedelta(hours=h))),
    st.builds(
        CalendarWindow,
        st.sampled_from(["week", "month", "quarter"]),
        st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
        st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)).filter(lambda d: d.day <= 28),
    ),
)


def severities(sloth: bool) -> st.SearchStrategy[SeverityAlert]:
    return st.builds(
        SeverityAlert,
        enabled=st.booleans(),
        name=st.just("") if sloth else st.one_of(st.just(""), ALERT_NAMES),
        labels=LABELS,
        annotations=st.dictionaries(LABEL_NAMES, TEXT, max_size=2),
    )


@st.composite
def definitions(draw: st.DrawFn, sloth: bool = False) -> SLODefinition:
    indicator = draw(indicators(sloth))
    kinds = (
        ["latency"] if isinstance(indicator, LatencyThreshold) else ["availability", "error_rate"]
    )
    if isinstance(indicator, PushedEvents):
        kinds.append("latency")
    return SLODefinition(
        service=draw(SERVICES),
        name=draw(NAMES),
        objective=float(draw(st.decimals(Decimal("50"), Decimal("99.9999"), places=4))),
        indicator=indicator,
        window=RollingWindow(timedelta(days=30)) if sloth else draw(WINDOWS),
        description=draw(TEXT),
        owner="" if sloth else draw(st.one_of(st.just(""), NAMES)),
        labels=draw(LABELS),
        sli_kind=None if sloth else draw(st.one_of(st.none(), st.sampled_from(kinds))),
        alerting=draw(
            st.builds(
                Alerting,
                name=st.one_of(st.just(""), ALERT_NAMES),
                labels=LABELS,
                annotations=st.dictionaries(LABEL_NAMES, TEXT, max_size=2),
                runbook_url=st.one_of(st.just(""), st.just("https://runbooks.example.com/x")),
                page=severities(sloth),
                ticket=severities(sloth),
            )
        ),
    )


def unique(sloth: bool = False) -> st.SearchStrategy[list[SLODefinition]]:
    return st.lists(definitions(sloth), max_size=4, unique_by=lambda d: (d.service, d.name))


PROPERTY = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@PROPERTY
@given(unique())
def test_openslo_round_trip(defs: list[SLODefinition]) -> None:
    assert parse_documents(to_openslo(defs)) == defs


@pytest.mark.slow
@PROPERTY
@given(unique(sloth=True))
def test_sloth_round_trip(defs: list[SLODefinition]) -> None:
    assert by_key(parse_documents(to_sloth(defs))) == by_key(defs)
