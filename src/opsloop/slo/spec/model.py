"""In-memory SLO definitions and their validation.

An :class:`SLODefinition` is format-neutral: the format modules of this package parse OpenSLO v1
and Sloth ``prometheus/v1`` documents into it and write it back. Definitions validate themselves
on construction.

Query templates use one placeholder internally, ``$window`` (``rate(x_total[$window])``);
``{{.window}}``, ``{{ .window }}`` and ``${window}`` are converted to it on the way in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Literal, TypeAlias

from opsloop.slo.spec.checks import (
    SpecError,
    SpecProblem,
    alert_name_problem,
    annotation_map_problems,
    calendar_start_problem,
    canonical_selector,
    dns_label_problem,
    join_path,
    label_map_problems,
    le_problem,
    metric_name_problem,
    normalize_query,
    objective_problem,
    query_problem,
    rolling_duration_problem,
    selector_problem,
    time_zone_problem,
)
from opsloop.slo.spec.yaml_io import Reader
from opsloop.slo.windows import Severity

SLIKind = Literal["availability", "error_rate", "latency"]
SLI_KINDS: tuple[SLIKind, ...] = ("availability", "error_rate", "latency")
CalendarUnit = Literal["week", "month", "quarter"]
#: Fixed-length equivalents of calendar periods, used wherever a duration is needed.
CALENDAR_PERIODS: Mapping[str, timedelta] = MappingProxyType(
    {"week": timedelta(days=7), "month": timedelta(days=30), "quarter": timedelta(days=90)}
)
DEFAULT_CALENDAR_START = datetime(2024, 1, 1)  # a Monday: anchors weeks, months and quarters


# The model.


def _frozen(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted(value.items())))


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class GoodTotalRatio:
    """SLI = good / total events; both queries are rates over ``$window``."""

    good_query: str
    total_query: str

    def __post_init__(self) -> None:
        _set(self, "good_query", normalize_query(self.good_query))
        _set(self, "total_query", normalize_query(self.total_query))


@dataclass(frozen=True)
class BadTotalRatio:
    """Error ratio = bad / total events; both queries are rates over ``$window``."""

    bad_query: str
    total_query: str

    def __post_init__(self) -> None:
        _set(self, "bad_query", normalize_query(self.bad_query))
        _set(self, "total_query", normalize_query(self.total_query))


@dataclass(frozen=True)
class RawErrorRatio:
    """A query that already yields the error ratio (0..1) over ``$window``."""

    error_ratio_query: str

    def __post_init__(self) -> None:
        _set(self, "error_ratio_query", normalize_query(self.error_ratio_query))


@dataclass(frozen=True)
class LatencyThreshold:
    """Good events: requests at or below ``le`` in histogram ``metric`` (its ``_bucket``
    and ``_count`` series, restricted by the label matchers in ``selector``)."""

    metric: str
    le: str
    selector: str = ""

    def __post_init__(self) -> None:
        _set(self, "selector", canonical_selector(self.selector) or self.selector)


@dataclass(frozen=True)
class PushedEvents:
    """Good and total event counts pushed to opsloop's API instead of read from Prometheus."""


Indicator: TypeAlias = (
    GoodTotalRatio | BadTotalRatio | RawErrorRatio | LatencyThreshold | PushedEvents
)


def infer_sli_kind(indicator: Indicator) -> SLIKind:
    if isinstance(indicator, LatencyThreshold):
        return "latency"
    return "error_rate" if isinstance(indicator, BadTotalRatio | RawErrorRatio) else "availability"


def indicator_queries(indicator: Indicator) -> dict[str, str]:
    """The query fields of a query-based indicator by name (empty for latency and pushed)."""
    if isinstance(indicator, GoodTotalRatio):
        return {"good_query": indicator.good_query, "total_query": indicator.total_query}
    if isinstance(indicator, BadTotalRatio):
        return {"bad_query": indicator.bad_query, "total_query": indicator.total_query}
    if isinstance(indicator, RawErrorRatio):
        return {"error_ratio_query": indicator.error_ratio_query}
    return {}


@dataclass(frozen=True)
class RollingWindow:
    duration: timedelta

    @property
    def period(self) -> timedelta:
        return self.duration


@dataclass(frozen=True)
class CalendarWindow:
    """Calendar-aligned weeks, months or quarters starting at ``start`` (local time)."""

    unit: CalendarUnit
    time_zone: str = "UTC"
    start: datetime = DEFAULT_CALENDAR_START

    @property
    def period(self) -> timedelta:
        """The fixed-length equivalent: 7d, 30d or 90d."""
        return CALENDAR_PERIODS[self.unit]


TimeWindow: TypeAlias = RollingWindow | CalendarWindow
DEFAULT_WINDOW = RollingWindow(timedelta(days=30))


@dataclass(frozen=True)
class SeverityAlert:
    """Options of the page or ticket alert; an empty ``name`` uses the SLO's alert name."""

    enabled: bool = True
    name: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _set(self, "labels", _frozen(self.labels))
        _set(self, "annotations", _frozen(self.annotations))


@dataclass(frozen=True)
class Alerting:
    """Burn-rate alert options. Labels/annotations apply to both alerts, the severity's own
    ones override them; an empty ``name`` becomes :func:`default_alert_name`."""

    name: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    runbook_url: str = ""
    page: SeverityAlert = SeverityAlert()
    ticket: SeverityAlert = SeverityAlert()

    def __post_init__(self) -> None:
        _set(self, "labels", _frozen(self.labels))
        _set(self, "annotations", _frozen(self.annotations))
        for severity in ("page", "ticket"):
            options: SeverityAlert = getattr(self, severity)
            if options.name == self.name:
                _set(self, severity, replace(options, name=""))

    @property
    def enabled(self) -> bool:
        return self.page.enabled or self.ticket.enabled

    @classmethod
    def disabled(cls) -> Alerting:
        return cls(page=SeverityAlert(enabled=False), ticket=SeverityAlert(enabled=False))

    def severity(self, severity: Severity) -> SeverityAlert:
        return self.page if severity == "page" else self.ticket

    def alert_name(self, severity: Severity) -> str:
        return self.severity(severity).name or self.name


def default_alert_name(service: str, name: str) -> str:
    """``checkout`` + ``availability`` -> ``CheckoutAvailabilityErrorBudgetBurn``."""
    camel = "".join(word.capitalize() for word in f"{service}-{name}".split("-") if word)
    return f"{'Slo' if camel[:1].isdigit() else ''}{camel}ErrorBudgetBurn"


@dataclass(frozen=True)
class SLODefinition:
    """One SLO; ``objective`` is a percentage (99.9), ``labels`` go on every generated rule.

    ``sli_kind`` defaults to what the indicator implies (good/total and pushed: availability,
    bad/total and raw: error_rate, histogram threshold: latency) and ``alerting.name`` to
    :func:`default_alert_name`; both hold concrete values after construction.
    Invalid values raise :class:`SpecError` (paths name the model's fields).
    """

    service: str
    name: str
    objective: float
    indicator: Indicator
    window: TimeWindow = DEFAULT_WINDOW
    description: str = ""
    owner: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    sli_kind: SLIKind | None = None
    alerting: Alerting = Alerting()

    def __post_init__(self) -> None:
        _set(self, "objective", float(self.objective))
        _set(self, "labels", _frozen(self.labels))
        _set(self, "sli_kind", self.sli_kind or infer_sli_kind(self.indicator))
        if not self.alerting.name:
            name = default_alert_name(self.service, self.name)
            _set(self, "alerting", replace(self.alerting, name=name))
        problems = definition_problems(self)
        if problems:
            raise SpecError(problems, source=f"SLO {self.service}/{self.name}")

    @property
    def kind(self) -> SLIKind:
        return self.sli_kind or infer_sli_kind(self.indicator)

    @property
    def period(self) -> timedelta:
        """The budget period as a fixed duration (calendar windows: 7d/30d/90d)."""
        return self.window.period

    @property
    def error_budget(self) -> Decimal:
        """The allowed error ratio, exactly: 99.9 -> 0.001."""
        return (100 - Decimal(repr(self.objective))) / 100


def format_number(value: float | Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros: 14.4, 6, 0.001."""
    number = value if isinstance(value, Decimal) else Decimal(repr(round(value, 10)))
    return format(number.normalize(), "f")


def kind_problem(kind: object, indicator: Indicator) -> str | None:
    if kind not in SLI_KINDS:
        return "must be availability, error_rate or latency"
    if isinstance(indicator, LatencyThreshold) and kind != "latency":
        return "a histogram threshold indicator is a latency SLI"
    if not isinstance(indicator, LatencyThreshold | PushedEvents) and kind == "latency":
        return "latency needs a histogram threshold indicator (or pushed events)"
    return None


def alerting_problems(
    alerting: Alerting, path: str, severity_keys: tuple[str, str] = ("page", "ticket")
) -> list[SpecProblem]:
    """Problems of alert options; ``severity_keys`` name the page/ticket keys in paths."""
    reserved = ["alertname"]
    problems = label_map_problems(alerting.labels, join_path(path, "labels"), reserved)
    problems += annotation_map_problems(alerting.annotations, join_path(path, "annotations"))
    if "runbook_url" in alerting.annotations:
        problems.append(SpecProblem(join_path(path, "annotations"), "use runbook_url instead"))
    names = {"name": alerting.name}
    for severity, key in zip(("page", "ticket"), severity_keys, strict=True):
        options: SeverityAlert = getattr(alerting, severity)
        where = join_path(path, key)
        names[f"{key}.name"] = options.name
        problems += label_map_problems(options.labels, join_path(where, "labels"), reserved)
        problems += annotation_map_problems(options.annotations, join_path(where, "annotations"))
    for where, name in names.items():
        reason = alert_name_problem(name) if name else None
        if reason:
            problems.append(SpecProblem(join_path(path, where), reason))
    return problems


def definition_problems(defn: SLODefinition) -> list[SpecProblem]:
    """Everything wrong with a definition, with paths named after the model's fields."""
    ind = defn.indicator
    checks: list[tuple[str, str | None]] = [
        ("service", dns_label_problem(defn.service)),
        ("name", dns_label_problem(defn.name)),
        ("objective", objective_problem(defn.objective)),
        ("sli_kind", kind_problem(defn.sli_kind, ind)),
    ]
    if isinstance(ind, LatencyThreshold):
        checks += [
            ("indicator.metric", metric_name_problem(ind.metric)),
            ("indicator.le", le_problem(ind.le)),
            ("indicator.selector", selector_problem(ind.selector)),
        ]
    checks += [(f"indicator.{k}", query_problem(q)) for k, q in indicator_queries(ind).items()]
    window = defn.window
    if isinstance(window, RollingWindow):
        checks.append(("window.duration", rolling_duration_problem(window.duration)))
    else:
        unit_ok = window.unit in CALENDAR_PERIODS
        checks += [
            ("window.unit", None if unit_ok else "must be week, month or quarter"),
            ("window.time_zone", time_zone_problem(window.time_zone)),
            ("window.start", calendar_start_problem(window.unit, window.start)),
        ]
    problems = [SpecProblem(path, reason) for path, reason in checks if reason]
    problems += label_map_problems(defn.labels, "labels")
    return problems + alerting_problems(defn.alerting, "alerting")


def build_definition(
    r: Reader,
    *,
    report_under: str | None,
    service: str,
    name: str,
    objective: float,
    indicator: Indicator,
    window: TimeWindow,
    description: str,
    labels: Mapping[str, str],
    alerting: Alerting,
    owner: str = "",
    sli_kind: SLIKind | None = None,
) -> SLODefinition | None:
    """The definition a format module parsed, or ``None`` with the model's objections reported:
    under the model's own field paths, or all under ``report_under`` when the format's paths
    differ from the model's."""
    try:
        return SLODefinition(
            service=service,
            name=name,
            objective=objective,
            indicator=indicator,
            window=window,
            description=description,
            owner=owner,
            labels=labels,
            sli_kind=sli_kind,
            alerting=alerting,
        )
    except SpecError as exc:  # anything not already reported with a spec path
        if report_under is None:
            r.report(exc.problems)
        else:
            r.report(SpecProblem(report_under, str(problem)) for problem in exc.problems)
        return None
