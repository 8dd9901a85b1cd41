"""Alertmanager-style label matchers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsloop.alerts.matchers import Matcher, matches_all, parse_matchers
from opsloop.core.errors import ValidationFailed

LABELS = {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"}


def test_the_four_operators_as_alertmanager_means_them() -> None:
    assert Matcher.of("service", "=", "checkout").matches(LABELS)
    assert Matcher.of("service", "!=", "search").matches(LABELS)
    assert Matcher.of("severity", "=~", "critical|high").matches(LABELS)
    assert not Matcher.of("severity", "=~", "crit").matches(LABELS)  # anchored: whole value
    assert Matcher.of("severity", "!~", "low|medium").matches(LABELS)


def test_an_absent_label_is_the_empty_value() -> None:
    assert Matcher.of("team", "=", "").matches(LABELS)
    assert not Matcher.of("team", "!=", "").matches(LABELS)
    assert Matcher.of("team", "=~", "|payments").matches(LABELS)


def test_lists_with_braces_quotes_and_bare_values() -> None:
    parsed = parse_matchers('{service="checkout", severity=~"critical|high",env!=dev}')
    assert [str(m) for m in parsed] == [
        'service="checkout"',
        'severity=~"critical|high"',
        'env!="dev"',
    ]
    assert matches_all(parsed, LABELS)
    assert parse_matchers(r'summary="say \"hi\", then \\ go"')[0].value == 'say "hi", then \\ go'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one matcher"),
        ("{service=api", "missing closing brace"),
        ("1abc=x", "expected a label name at character 1"),
        ("service~x", "expected =, !=, =~ or !~"),
        ('a="x" b="y"', "expected ',' at character 7"),
        ('a="open', "unterminated"),
        ('a=~"(x"', "bad regular expression"),
    ],
)
def test_bad_matchers_are_refused_saying_where(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message.replace("(", r"\(")) as caught:
        parse_matchers(text, where="rules[0].matchers")
    assert caught.value.field == "rules[0].matchers"


values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(values)
def test_a_quoted_value_comes_back_as_written(value: str) -> None:
    (parsed,) = parse_matchers(str(Matcher.of("label", "=", value)))
    assert parsed.value == value
