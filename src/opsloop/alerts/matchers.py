"""Label matchers as Alertmanager writes them, for routing rules and silences. Pure.

A matcher is ``name op value`` with op ``=`` (equal), ``!=`` (not equal), ``=~`` (the regular
expression matches the whole value) or ``!~`` (it does not). Values may be quoted with double
quotes (``\\"`` and ``\\\\`` escaped inside) or bare. A list is written ``{a="1", b=~"x|y"}`` or
without braces, comma-separated. A label that is absent has the empty value, as in Alertmanager:
``team=""`` matches alerts without a ``team`` label and ``team!=""`` those with one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from opsloop.core.errors import ValidationFailed

Op = Literal["=", "!=", "=~", "!~"]
_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# Longest first, so that "=~" is not read as "=" followed by a value starting with "~".
_OPS: tuple[Op, ...] = ("=~", "!~", "!=", "=")
MAX_REGEX = 1000


@dataclass(frozen=True)
class Matcher:
    name: str
    op: Op
    value: str
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, name: str, op: Op, value: str, *, where: str = "matchers") -> Matcher:
        if not _NAME.fullmatch(name):
            raise ValidationFailed(f"{where}: {name!r} is not a label name", field=where)
        pattern = None
        if op in ("=~", "!~"):
            if len(value) > MAX_REGEX:
                raise ValidationFailed(
                    f"{where}: a regular expression of at most {MAX_REGEX} characters",
                    field=where,
                )
            try:
                # Anchored like Alertmanager's (and Prometheus's) label regexes.
                pattern = re.compile(f"^(?:{value})$")
            except re.error as exc:
                raise ValidationFailed(
                    f"{where}: bad regular expression {value!r}: {exc}", field=where
                ) from None
        return cls(name, op, value, pattern)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._pattern is not None
        found = self._pattern.match(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def matches_all(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def parse_matchers(text: str, *, where: str = "matchers") -> list[Matcher]:
    """``{a="1", b=~"x|y"}``, ``a=1,b!=2`` or one matcher; errors name the position."""
    body = text.strip()
    if body.startswith("{"):
        if not body.endswith("}"):
            raise ValidationFailed(f"{where}: missing closing brace", field=where)
        body = body[1:-1]
    out: list[Matcher] = []
    position = 0
    while True:
        position = _skip_space(body, position)
        if position >= len(body):
            break
        matcher, position = _one(body, position, where)
        out.append(matcher)
        position = _skip_space(body, position)
        if position < len(body):
            if body[position] != ",":
                raise ValidationFailed(
                    f"{where}: expected ',' at character {position + 1}", field=where
                )
            position += 1
    if not out:
        raise ValidationFailed(f'{where}: at least one matcher, like service="api"', field=where)
    return out


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _one(text: str, position: int, where: str) -> tuple[Matcher, int]:
    name = _NAME.match(text, position)
    if name is None:
        raise ValidationFailed(
            f"{where}: expected a label name at character {position + 1}", field=where
        )
    position = _skip_space(text, name.end())
    op = next((o for o in _OPS if text.startswith(o, position)), None)
    if op is None:
        raise ValidationFailed(
            f"{where}: expected =, !=, =~ or !~ after {name.group()!r}", field=where
        )
    position = _skip_space(text, position + len(op))
    value, position = _value(text, position, where)
    return Matcher.of(name.group(), op, value, where=where), position


def _value(text: str, position: int, where: str) -> tuple[str, int]:
    if position < len(text) and text[position] == '"':
        chars: list[str] = []
        position += 1
        while position < len(text):
            char = text[position]
            if char == "\\" and position + 1 < len(text):
                chars.append(text[position + 1])
                position += 2
                continue
            if char == '"':
                return "".join(chars), position + 1
            chars.append(char)
            position += 1
        raise ValidationFailed(f"{where}: unterminated quoted value", field=where)
    end = position
    while end < len(text) and text[end] not in ",}" and not text[end].isspace():
        end += 1
    return text[position:end], end
