"""In-memory SLO definitions, their validation, and the YAML spec entry points.

An :class:`SLODefinition` is format-neutral: OpenSLO v1 and Sloth ``prometheus/v1`` documents
are parsed into it (:func:`parse_documents`) and written back (:func:`to_openslo`,
:func:`to_sloth`). Definitions validate themselves on construction.

Query templates use one placeholder internally, ``$window`` (``rate(x_total[$window])``);
``{{.window}}``, ``{{ .window }}`` and ``${window}`` are converted to it on the way in.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from opsloop.slo.windows import DEFAULT_ALERT_WINDOWS, Severity, format_duration

SLIKind = Literal["availability", "error_rate", "latency"]
SLI_KINDS: tuple[SLIKind, ...] = ("availability", "error_rate", "latency")
CalendarUnit = Literal["week", "month", "quarter"]
#: Fixed-length equivalents of calendar periods, used wherever a duration is needed.
CALENDAR_PERIODS: Mapping[str, timedelta] = MappingProxyType(
    {"week": timedelta(days=7), "month": timedelta(days=30), "quarter": timedelta(days=90)}
)
DEFAULT_CALENDAR_START = datetime(2024, 1, 1)  # a Monday: anchors weeks, months and quarters
WINDOW_PLACEHOLDER = "$window"
RESERVED_LABEL_PREFIX = "slo_"  # the rule generator's own labels

_PLACEHOLDER_IN = re.compile(r"\{\{\s*\.window\s*\}\}|\$\{window\}")
_PLACEHOLDER = re.compile(r"\$window\b")
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
_LONGEST_ALERT_WINDOW = max(row.long_window for row in DEFAULT_ALERT_WINDOWS)


@dataclass(frozen=True)
class SpecProblem:
    """One reason a spec was rejected, located by its YAML path."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class SpecError(ValueError):
    """A spec or definition was rejected; ``problems`` lists every reason found."""

    def __init__(self, problems: Iterable[SpecProblem], source: str = "") -> None:
        self.problems: tuple[SpecProblem, ...] = tuple(problems)
        self.source = source
        body = "".join(f"\n  - {problem}" for problem in self.problems)
        head = f"{source}: " if source else ""
        super().__init__(f"{head}invalid SLO spec ({len(self.problems)} problem(s)):{body}")

    @property
    def messages(self) -> list[str]:
        return [str(problem) for problem in self.problems]


def join_path(path: str, key: str | int) -> str:
    """Append a mapping key or list index to a dotted YAML path."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
        return f"{path}[{json.dumps(key)}]"
    return f"{path}.{key}" if path else key


# Field checks: each returns None when the value is fine, else the reason it is not.


def dns_label_problem(value: str) -> str | None:
    if not _DNS_LABEL.match(value) or len(value) > 63:
        return "must be 1-63 lowercase letters, digits or '-', starting and ending alphanumeric"
    return None


def objective_problem(value: float) -> str | None:
    if not math.isfinite(value) or not 0 < value < 100:
        return "must be a percentage between 0 and 100 (exclusive), e.g. 99.9"
    return None


def normalize_query(query: str) -> str:
    """Strip a query and convert the supported window placeholders to ``$window``."""
    return _PLACEHOLDER_IN.sub(WINDOW_PLACEHOLDER, query.strip())


def query_problem(query: str) -> str | None:
    if not query:
        return "must not be empty"
    if "{{" in query:
        return "contains a template expression other than the window placeholder"
    if not _PLACEHOLDER.search(query):
        return "must contain the window placeholder $window (or {{.window}})"
    return None


def substitute_window(query: str, text: str) -> str:
    """Replace the ``$window`` placeholder with ``text``."""
    return _PLACEHOLDER.sub(lambda _: text, query)


def render_query(query: str, window: timedelta) -> str:
    """Substitute the window placeholder with a Prometheus duration such as ``5m``."""
    return substitute_window(query, format_duration(window))


def label_map_problems(
    labels: Mapping[str, str], path: str, reserved: Collection[str] = ()
) -> list[SpecProblem]:
    problems = []
    for key, value in labels.items():
        if not _LABEL_NAME.match(key) or key.startswith("__"):
            reason = "invalid label name"
        elif key.startswith(RESERVED_LABEL_PREFIX) or key in reserved:
            reason = "label name reserved by opsloop"
        elif not value:
            reason = "must not be empty"
        else:
            continue
        problems.append(SpecProblem(join_path(path, key), reason))
    return problems


def annotation_map_problems(annotations: Mapping[str, str], path: str) -> list[SpecProblem]:
    bad = [key for key in annotations if not _LABEL_NAME.match(key)]
    return [SpecProblem(join_path(path, key), "invalid annotation name") for key in bad]


def alert_name_problem(name: str) -> str | None:
    if not _METRIC_NAME.match(name):
        return "invalid alert name (letters, digits, '_' or ':', not starting with a digit)"
    return None


def metric_name_problem(name: str) -> str | None:
    if not _METRIC_NAME.match(name):
        return "invalid metric name"
    if name.endswith(("_bucket", "_count", "_sum")):
        return "give the histogram name without the _bucket/_count/_sum suffix"
    return None


def canonical_le(value: float) -> str:
    """The ``le`` label text of a bucket bound given as a YAML number (1 -> "1", 0.3 -> "0.3")."""
    return str(value) if isinstance(value, int) else repr(float(value))


def le_problem(le: str) -> str | None:
    try:
        bound = float(le)
    except ValueError:
        return "must be a number (the histogram bucket's le bound)"
    if not math.isfinite(bound) or bound <= 0:
        return "must be a positive, finite bucket bound"
    if le not in (repr(bound), str(int(bound)) if bound.is_integer() else ""):
        return f"write the bound as {bound!r}"
    return None


def canonical_selector(selector: str) -> str | None:
    """Normalise label matchers (``job="api", code!~"5.."``); None when malformed."""
    text = selector.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    matchers: list[str] = []
    pos = 0
    while pos < len(text):
        match = _MATCHER.match(text, pos)
        if not match or match[1] in ("le", "__name__"):
            return None
        matchers.append(f'{match[1]}{match[2]}"{match[3]}"')
        pos = match.end()
        if pos < len(text) and text[pos] != ",":
            return None
        pos += 1
    return ",".join(matchers)


def selector_problem(selector: str) -> str | None:
    if canonical_selector(selector) is None:
        return 'must be label matchers such as job="api",code!~"5.." (without le)'
    return None


def time_zone_problem(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown IANA time zone {name!r}"
    return None


def rolling_duration_problem(duration: timedelta) -> str | None:
    if duration <= _LONGEST_ALERT_WINDOW:
        longest = format_duration(_LONGEST_ALERT_WINDOW)
        return f"must be longer than {longest}, the longest burn-rate alert window"
    if duration % timedelta(minutes=1):
        return "must be a whole number of minutes"
    return None


def calendar_start_problem(unit: str, start: datetime) -> str | None:
    if start.tzinfo is not None:
        return "must be a local time without UTC offset (the time zone is given separately)"
    if unit != "week" and start.day > 28:
        return "months and quarters must start on day 1..28 (a day every month has)"
    return None


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


# YAML reading and writing.


class _StrictLoader(yaml.SafeLoader):
    """Safe loader that rejects duplicate mapping keys instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Dumper(yaml.SafeDumper):
    """Block style; multi-line strings (queries) as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # YAML 1.1 also breaks lines at CR, NEL, LS and PS; only escapes keep them intact.
    style = "|" if "\n" in data else None
    if any(char in data for char in "\r\x85\u2028\u2029\ufeff"):
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(value: object) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, width=4096, allow_unicode=True)


def dump_yaml_documents(documents: Sequence[object]) -> str:
    return "".join(f"---\n{dump_yaml(document)}" for document in documents)


class Reader:
    """Reads an untyped YAML tree, recording problems under a path prefix."""

    def __init__(self, problems: list[SpecProblem], prefix: str = "") -> None:
        self.problems = problems
        self.prefix = prefix

    def where(self, path: str) -> str:
        if not self.prefix or not path:
            return self.prefix or path
        return f"{self.prefix}{path}" if path.startswith("[") else f"{self.prefix}.{path}"

    def fail(self, path: str, reason: str) -> None:
        self.problems.append(SpecProblem(self.where(path), reason))

    def report(self, problems: Iterable[SpecProblem]) -> None:
        for problem in problems:
            self.fail(problem.path, problem.reason)

    def check(self, path: str, reason: str | None) -> bool:
        if reason:
            self.fail(path, reason)
        return reason is None

    def mapping(
        self, value: object, path: str, allowed: Collection[str] | None = None
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            self.fail(path, "expected a mapping with string keys")
            return None
        for key in value:
            if allowed is not None and key not in allowed:
                self.fail(join_path(path, key), "unknown field")
        return value

    def value(self, data: Mapping[str, Any], key: str, path: str, required: bool) -> Any:
        value = data.get(key)
        if value is None and required:
            self.fail(join_path(path, key), "missing")
        return value

    def text(self, data: Mapping[str, Any], key: str, path: str, required: bool = False) -> str:
        """A string field; "" when absent or invalid (reported when required)."""
        value = self.value(data, key, path, required)
        if value == "" and required:
            self.fail(join_path(path, key), "must not be empty")
        if value is None or isinstance(value, str):
            return value or ""
        self.fail(join_path(path, key), "expected a string")
        return ""

    def number(self, data: Mapping[str, Any], key: str, path: str, required: bool) -> float | None:
        value = self.value(data, key, path, required)
        if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            return value
        self.fail(join_path(path, key), "expected a number")
        return None

    def flag(self, data: Mapping[str, Any], key: str, path: str, required: bool) -> bool | None:
        value = self.value(data, key, path, required)
        if value is None or isinstance(value, bool):
            return value
        self.fail(join_path(path, key), "expected true or false")
        return None

    def items(self, data: Mapping[str, Any], key: str, path: str, required: bool) -> list[Any]:
        value = self.value(data, key, path, required)
        if value is None or isinstance(value, list):
            return value or []
        self.fail(join_path(path, key), "expected a list")
        return []

    def strings(self, data: Mapping[str, Any], key: str, path: str) -> dict[str, str]:
        """A string-to-string map (integer values are accepted as their text)."""
        value = self.value(data, key, path, False)
        where = join_path(path, key)
        found = self.mapping(value, where) if value is not None else None
        result = {}
        for name, item in (found or {}).items():
            if isinstance(item, str) or (isinstance(item, int) and not isinstance(item, bool)):
                result[name] = str(item)
            else:
                self.fail(join_path(where, name), "expected a string")
        return result


def parse_documents(text: str, source: str = "<string>") -> list[SLODefinition]:
    """Parse multi-document YAML holding OpenSLO v1 and/or Sloth prometheus/v1 specs.

    All-or-nothing: any problem raises :class:`SpecError` listing every ``path: reason``
    found; paths start with ``documents[i]`` when the text has several documents.
    """
    from opsloop.slo import spec_openslo, spec_sloth

    try:
        documents = list(yaml.load_all(text, Loader=_StrictLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = SpecProblem(where, f"invalid YAML: {exc.problem or exc.context}")
        raise SpecError([problem], source) from exc
    except yaml.YAMLError as exc:
        raise SpecError([SpecProblem("", f"invalid YAML: {exc}")], source) from exc
    problems: list[SpecProblem] = []
    readers = [
        Reader(problems, f"documents[{index}]" if len(documents) > 1 else "")
        for index in range(len(documents))
    ]
    openslo = spec_openslo.OpenSLOContext()
    for document, reader in zip(documents, readers, strict=True):
        if isinstance(document, dict) and spec_openslo.is_openslo(document):
            openslo.add(document, reader)
    found: list[tuple[SLODefinition, str]] = []
    for document, reader in zip(documents, readers, strict=True):
        if document is None:
            continue
        if isinstance(document, dict) and spec_openslo.is_openslo(document):
            found += openslo.parse_slo(document, reader)
        elif isinstance(document, dict) and "version" in document:
            found += spec_sloth.parse_sloth(document, reader)
        else:
            reader.fail("", "expected an OpenSLO v1 or Sloth prometheus/v1 document")
    first: dict[tuple[str, str], str] = {}
    for defn, where in found:
        key = (defn.service, defn.name)
        if key in first:
            duplicate = f"duplicate SLO {defn.service}/{defn.name} (first defined at {first[key]})"
            problems.append(SpecProblem(where, duplicate))
        first.setdefault(key, where)
    if problems:
        raise SpecError(problems, source)
    return [defn for defn, _ in found]


def to_openslo(defs: Iterable[SLODefinition]) -> str:
    """Multi-document OpenSLO v1 YAML: a Service document per service, then the SLOs."""
    from opsloop.slo.spec_openslo import export_openslo

    return dump_yaml_documents(export_openslo(list(defs)))


def to_sloth(defs: Iterable[SLODefinition]) -> str:
    """Sloth prometheus/v1 YAML, one document per service (in order of first appearance).

    Raises :class:`SpecError` for what Sloth cannot express, so that parsing the output
    always gives the definitions back: only rolling 30d windows, bad/total or raw
    indicators, no owner, the default SLI kind and one alert name per SLO.
    """
    from opsloop.slo.spec_sloth import export_sloth

    return dump_yaml_documents(export_sloth(list(defs)))
