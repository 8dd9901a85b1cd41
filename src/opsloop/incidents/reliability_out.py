"""How reliability figures are shown: the API's JSON shape (durations in seconds, with a
readable text beside them), the flat rows of the CLI's table and CSV, and durations as text."""

from __future__ import annotations

from datetime import datetime, timedelta

from opsloop.core.schemas import Schema
from opsloop.incidents.math import Durations
from opsloop.incidents.reliability import Figures, Report

METRIC_NAMES = ("mttd", "mtta", "mttm", "mttr")


def human(value: timedelta | None) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``40 s``: the two largest units, for people."""
    if value is None:
        return "-"
    seconds = round(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = [f"{n} {unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0 s"


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def met_text(met: bool | None) -> str:
    return "-" if met is None else "met" if met else "not met"


class DurationsOut(Schema):
    count: int
    mean_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None
    mean: str
    median: str
    p90: str

    @classmethod
    def of(cls, d: Durations) -> DurationsOut:
        return cls(
            count=d.count,
            mean_seconds=_seconds(d.mean),
            median_seconds=_seconds(d.median),
            p90_seconds=_seconds(d.p90),
            mean=human(d.mean),
            median=human(d.median),
            p90=human(d.p90),
        )


class FiguresOut(Schema):
    group: str
    period_start: datetime
    period_end: datetime
    incidents: int
    open: int
    mttd: DurationsOut
    mtta: DurationsOut
    mttm: DurationsOut
    mttr: DurationsOut
    outage_seconds: float
    outage: str
    mtbf_seconds: float | None
    mtbf: str
    availability: float
    mttr_target_met: bool | None
    mtbf_target_met: bool | None

    @classmethod
    def of(cls, f: Figures) -> FiguresOut:
        return cls(
            group=f.group,
            period_start=f.period_start,
            period_end=f.period_end,
            incidents=f.incidents,
            open=f.open,
            mttd=DurationsOut.of(f.mttd),
            mtta=DurationsOut.of(f.mtta),
            mttm=DurationsOut.of(f.mttm),
            mttr=DurationsOut.of(f.mttr),
            outage_seconds=_seconds(f.outage) or 0.0,
            outage=human(f.outage),
            mtbf_seconds=_seconds(f.mtbf),
            mtbf=human(f.mtbf),
            availability=round(f.availability, 6),
            mttr_target_met=f.mttr_met,
            mtbf_target_met=f.mtbf_met,
        )


class TargetsOut(Schema):
    mttr_seconds: float
    mtbf_seconds: float


class ReportOut(Schema):
    since: datetime
    until: datetime
    by: str
    service: str | None
    team: str | None
    severity: str | None
    targets: TargetsOut
    groups: list[FiguresOut]

    @classmethod
    def of(cls, r: Report) -> ReportOut:
        return cls(
            since=r.since,
            until=r.until,
            by=r.by,
            service=r.service,
            team=r.team,
            severity=r.severity.value if r.severity else None,
            targets=TargetsOut(
                mttr_seconds=r.targets.mttr.total_seconds(),
                mtbf_seconds=r.targets.mtbf.total_seconds(),
            ),
            groups=[FiguresOut.of(g) for g in r.groups],
        )


#: The columns of the CLI's table and CSV, one row per group.
COLUMNS = (
    "group",
    "incidents",
    "open",
    *(f"{m}_{part}" for m in METRIC_NAMES for part in ("mean", "median", "p90")),
    "outage",
    "mtbf",
    "availability",
    "mttr_target",
    "mtbf_target",
)


def flat_row(f: Figures, *, seconds: bool) -> list[str]:
    """One group as the columns above: durations in seconds (CSV) or as text (table)."""

    def shown(value: timedelta | None) -> str:
        if not seconds:
            return human(value)
        return "" if value is None else f"{value.total_seconds():.3f}"

    values = [f.group, str(f.incidents), str(f.open)]
    for name in METRIC_NAMES:
        d: Durations = getattr(f, name)
        values += [shown(d.mean), shown(d.median), shown(d.p90)]
    values += [shown(f.outage), shown(f.mtbf), f"{f.availability * 100:.4f}%"]
    values += [met_text(f.mttr_met), met_text(f.mtbf_met)]
    return values
