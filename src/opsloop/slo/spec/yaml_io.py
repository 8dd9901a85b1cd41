"""YAML machinery of the spec formats: strict loading, dumping, and the :class:`Reader`
that walks an untyped YAML tree while collecting :class:`SpecProblem` entries."""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from typing import Any

import yaml

from opsloop.slo.spec.checks import SpecError, SpecProblem, join_path
from opsloop.slo.yaml_limits import nesting_problem


class _StrictMixin:
    """Rejects duplicate mapping keys instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc,no-any-return]


class _StrictLoader(_StrictMixin, yaml.SafeLoader):
    """The pure-Python parser: its error messages are the ones users see."""


# libyaml's parser, where PyYAML has it, reads the 1,000 stored specs of a large installation
# in 0.2 s instead of 1.5 s; problems are re-read with the pure-Python one for its messages.
_FastLoader: type[yaml.SafeLoader] = (
    type("_FastLoader", (_StrictMixin, yaml.CSafeLoader), {})
    if getattr(yaml, "__with_libyaml__", False)
    else _StrictLoader
)


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

    def strings(
        self, data: Mapping[str, Any], key: str, path: str, *, scalars_as_text: bool = False
    ) -> dict[str, str]:
        """A string-to-string map (integer values are accepted as their text; with
        ``scalars_as_text`` booleans and numbers too, the way Sloth reads its labels)."""
        value = self.value(data, key, path, False)
        where = join_path(path, key)
        found = self.mapping(value, where) if value is not None else None
        result = {}
        for name, item in (found or {}).items():
            if isinstance(item, str) or (isinstance(item, int) and not isinstance(item, bool)):
                result[name] = str(item)
            elif scalars_as_text and isinstance(item, bool):
                result[name] = "true" if item else "false"
            elif scalars_as_text and isinstance(item, float) and math.isfinite(item):
                result[name] = repr(item)
            else:
                self.fail(join_path(where, name), "expected a string")
        return result


# Text opsloop wrote itself (the stored canonical specs, read again by every first evaluation
# after a start) has no duplicate keys and nests a few levels deep: it skips both checks, which
# take about a third of reading it. Whatever this loader cannot read goes the checked way.
_OwnLoader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = (
    yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader
)


def load_own_documents(text: str, source: str) -> list[Any]:
    """:func:`load_documents` for YAML that opsloop wrote itself (see ``_OwnLoader``)."""
    try:
        return list(yaml.load_all(text, Loader=_OwnLoader))
    except yaml.YAMLError:
        return load_documents(text, source)


def load_documents(text: str, source: str) -> list[Any]:
    """Every document of a multi-document YAML text; invalid YAML raises :class:`SpecError`."""
    if too_deep := nesting_problem(text):
        raise SpecError([SpecProblem("", f"invalid YAML: {too_deep}")], source)
    try:
        return list(yaml.load_all(text, Loader=_FastLoader))
    except yaml.YAMLError:
        pass
    try:
        return list(yaml.load_all(text, Loader=_StrictLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = SpecProblem(where, f"invalid YAML: {exc.problem or exc.context}")
        raise SpecError([problem], source) from exc
    except yaml.YAMLError as exc:
        raise SpecError([SpecProblem("", f"invalid YAML: {exc}")], source) from exc
