"""SLO specs: the format-neutral model (:mod:`.model`) and the YAML entry points.

OpenSLO v1 and Sloth ``prometheus/v1`` documents are parsed into :class:`SLODefinition`
(:func:`parse_documents`) and written back (:func:`to_openslo`, :func:`to_sloth`). The format
modules import the model, never this package's entry points, so nothing imports in a circle.

Query templates use one placeholder internally, ``$window`` (``rate(x_total[$window])``);
``{{.window}}``, ``{{ .window }}`` and ``${window}`` are converted to it on the way in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opsloop.slo.spec import openslo, sloth
from opsloop.slo.spec.checks import SpecError, SpecProblem
from opsloop.slo.spec.model import (
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
    format_number,
    indicator_queries,
)
from opsloop.slo.spec.openslo_export import export_openslo
from opsloop.slo.spec.sloth import export_sloth
from opsloop.slo.spec.yaml_io import (
    Reader,
    dump_yaml_documents,
    load_documents,
    load_own_documents,
)

__all__ = [
    "Alerting",
    "BadTotalRatio",
    "CalendarWindow",
    "GoodTotalRatio",
    "LatencyThreshold",
    "PushedEvents",
    "RawErrorRatio",
    "RollingWindow",
    "SLODefinition",
    "SeverityAlert",
    "format_number",
    "indicator_queries",
    "parse_documents",
    "to_openslo",
    "to_sloth",
]


def parse_documents(
    text: str, source: str = "<string>", *, own: bool = False, documents: list[Any] | None = None
) -> list[SLODefinition]:
    """Parse multi-document YAML holding OpenSLO v1 and/or Sloth prometheus/v1 specs.

    All-or-nothing: any problem raises :class:`SpecError` listing every ``path: reason``
    found; paths start with ``documents[i]`` when the text has several documents. ``own``:
    the text is one opsloop wrote itself (a stored spec), read without the checks that guard
    against hostile YAML. ``documents``: the text's documents already read (a stored spec's
    JSON copy, :mod:`opsloop.slo.spec.stored_documents`).
    """
    if documents is None:
        documents = load_own_documents(text, source) if own else load_documents(text, source)
    problems: list[SpecProblem] = []
    readers = [
        Reader(problems, f"documents[{index}]" if len(documents) > 1 else "")
        for index in range(len(documents))
    ]
    context = openslo.OpenSLOContext()
    for document, reader in zip(documents, readers, strict=True):
        if isinstance(document, dict) and openslo.is_openslo(document):
            context.add(document, reader)
    found: list[tuple[SLODefinition, str]] = []
    for document, reader in zip(documents, readers, strict=True):
        if document is None:
            continue
        if isinstance(document, dict) and openslo.is_openslo(document):
            found += context.parse_slo(document, reader)
        elif isinstance(document, dict) and "version" in document:
            found += sloth.parse_sloth(document, reader)
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
    return dump_yaml_documents(export_openslo(list(defs)))


def to_sloth(defs: Iterable[SLODefinition]) -> str:
    """Sloth prometheus/v1 YAML, one document per service (in order of first appearance).

    Raises :class:`SpecError` for what Sloth cannot express, so that parsing the output
    always gives the definitions back: only rolling 30d windows, bad/total or raw
    indicators, no owner, the default SLI kind and one alert name per SLO.
    """
    return dump_yaml_documents(export_sloth(list(defs)))
