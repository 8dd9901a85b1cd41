"""Export every SLO a format can express, and name each one it cannot.

One SLO that Sloth cannot express (a calendar window, say) must not keep the others out of
a Sloth file; the caller reports the ones left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from opsloop.core.errors import ValidationFailed
from opsloop.slo import service
from opsloop.slo.spec import to_openslo, to_sloth
from opsloop.slo.spec.checks import SpecError

FORMATS = ("openslo", "sloth")


@dataclass(frozen=True)
class Skipped:
    slo: str
    reason: str


@dataclass(frozen=True)
class Export:
    text: str
    exported: list[str]
    skipped: list[Skipped]


def export_what_fits(session: Session, *, fmt: str, service_name: str | None = None) -> Export:
    if fmt not in FORMATS:
        raise ValidationFailed(f"unknown format {fmt!r}; use openslo or sloth", field="format")
    defs = [service.definition(s) for s in service.list_slos(session, service=service_name)]
    if fmt == "openslo":
        return Export(to_openslo(defs), [f"{d.service}/{d.name}" for d in defs], [])
    fitting, skipped = [], []
    for defn in defs:
        try:
            to_sloth([defn])
        except SpecError as exc:
            first = exc.problems[0]
            why = f"{first.path}: {first.reason}" if first.path else first.reason
            skipped.append(Skipped(f"{defn.service}/{defn.name}", why))
        else:
            fitting.append(defn)
    try:
        text = to_sloth(fitting) if fitting else ""
    except SpecError as exc:  # a rule that spans SLOs of one service
        first = exc.problems[0]
        raise ValidationFailed(
            f"cannot express as Sloth: {first.path}: {first.reason}", field="format"
        ) from None
    return Export(text, [f"{d.service}/{d.name}" for d in fitting], skipped)
