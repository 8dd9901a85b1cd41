"""Field checks and query helpers shared by the SLO model and the spec formats.

Each ``*_problem`` function returns None when a value is fine, else the reason it is not, so
callers can attach the reason to whatever path names the value in their own format.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opsloop.slo.windows import DEFAULT_ALERT_WINDOWS, format_duration

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
