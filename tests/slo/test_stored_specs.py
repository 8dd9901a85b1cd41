"""Stored specs (canonical OpenSLO that opsloop wrote itself) are read without the checks for
hostile YAML (duplicate keys, deep nesting), to the same definitions; text that way cannot read
fails as it always did."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsloop.slo.spec import parse_documents, to_openslo
from opsloop.slo.spec.checks import SpecError

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.yaml")))
def test_stored_text_reads_back_to_the_same_definitions(name: str) -> None:
    definitions = parse_documents((FIXTURES / name).read_text(), name)
    for defn in definitions:
        stored = to_openslo([defn])
        assert parse_documents(stored, "stored", own=True) == parse_documents(stored, "stored")
        assert parse_documents(stored, "stored", own=True) == [defn]


def test_text_the_fast_way_cannot_read_fails_the_checked_way() -> None:
    text = "apiVersion: openslo/v1\nkind: [SLO\n"  # not YAML
    with pytest.raises(SpecError) as checked:
        parse_documents(text, "stored")
    with pytest.raises(SpecError) as own:
        parse_documents(text, "stored", own=True)
    assert own.value.problems == checked.value.problems
    assert "invalid YAML" in str(own.value.problems[0])
