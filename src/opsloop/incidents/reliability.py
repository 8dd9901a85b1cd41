"""Reliability figures over the stored incidents: MTTD, MTTA, MTTM and MTTR (mean, median,
p90), incident counts, outage, MTBF and availability, grouped by service, severity, team, week
or month. The definitions are in :mod:`opsloop.incidents.math` and docs/reliability.md; the SQL
is in :mod:`opsloop.incidents.reliability_sql`.

Which incidents count: those that *started* in the period (counts, durations, failures for
MTBF); an open incident counts but has none of the durations it lacks. The outage takes every
incident unresolved at some time in the period, including ones started before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.errors import ValidationFailed
from opsloop.incidents import math, reliability_sql
from opsloop.incidents.buckets import Bucket, buckets
from opsloop.incidents.math import Durations
from opsloop.incidents.reliability_sql import METRICS, Scope, Summaries, Summary
from opsloop.incidents.rules import Severity
from opsloop.services import service as catalog
from opsloop.services import teams

GROUPINGS = ("service", "severity", "team", "week", "month")
DEFAULT_PERIOD = timedelta(days=30)
#: A report over a longer period would be a scan of everything for little use.
MAX_PERIOD = timedelta(days=3 * 366)


@dataclass(frozen=True)
class Targets:
    mttr: timedelta = math.MTTR_TARGET
    mtbf: timedelta = math.MTBF_TARGET


@dataclass(frozen=True)
class Figures:
    group: str
    period_start: datetime
    period_end: datetime
    incidents: int
    open: int
    mttd: Durations
    mtta: Durations
    mttm: Durations
    mttr: Durations
    outage: timedelta
    mtbf: timedelta | None
    availability: float
    mttr_met: bool | None  # None: no resolved incident to judge by
    mtbf_met: bool | None  # None: no failure in the period


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    by: str
    service: str | None
    team: str | None
    severity: Severity | None
    targets: Targets
    groups: list[Figures]


def _seconds(value: float) -> timedelta:
    # SQLite keeps times to the millisecond in its date functions; both databases round alike.
    return timedelta(milliseconds=round(value * 1000))


def _summary(found: Summary | None) -> Durations:
    if found is None:
        return Durations(0, None, None, None)
    return Durations(
        found.count,
        _seconds(found.mean),
        _seconds(found.percentiles["median"]),
        _seconds(found.percentiles["p90"]),
    )


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    now = clock.now()
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(f"{name}: give a time zone (e.g. 2026-01-01T00:00Z)", field=name)
    # The period ends now at the latest: an open incident's outage runs to the period's end,
    # and the future has no outage yet.
    end = min(until or now, now)
    start = since or end - DEFAULT_PERIOD
    if until is not None and since is not None and since >= until:
        raise ValidationFailed("since: must be before until", field="since")
    if start >= end:
        raise ValidationFailed("since: must be in the past", field="since")
    if end - start > MAX_PERIOD:
        raise ValidationFailed("since: the period is longer than three years", field="since")
    return start, end


def _services(session: Session, service: str | None, team: str | None) -> tuple[str, ...] | None:
    if team:
        if teams.find_team(session, name=team) is None:
            raise ValidationFailed(f"team: no team {team!r}", field="team")
        owned = catalog.services_owned_by(session, team=team)
        return tuple(n for n in owned if service is None or n == service)
    return (service,) if service else None


def report(
    session: Session,
    *,
    by: str,
    since: datetime | None = None,
    until: datetime | None = None,
    service: str | None = None,
    team: str | None = None,
    severity: Severity | None = None,
    targets: Targets | None = None,
) -> Report:
    """The figures of the incidents that started in ``[since, until)`` (default: the last 30
    days up to now), one row per group."""
    if by not in GROUPINGS:
        raise ValidationFailed(f"by: use one of {', '.join(GROUPINGS)}", field="by")
    start, end = _period(since, until)
    names = _services(session, service, team)
    periods: tuple[Bucket, ...] = tuple(buckets(start, end, by)) if by in ("week", "month") else ()
    scope = Scope(
        since=start,
        until=end,
        by=by,
        severity=severity.value if severity else None,
        services=names,
        buckets=periods,
    )
    if by == "team":
        # The owner of each service from the catalog, joined in the statement.
        mapping = catalog.owner_teams(session)
        scope = Scope(**{**scope.__dict__, "team_of": mapping})
    counted, ranked, outages = reliability_sql.figures(session, scope)
    wanted = targets or Targets()
    if periods:
        groups = [(b.label, b.start, b.end) for b in periods]
    else:
        groups = [(g, start, end) for g in sorted(set(counted) | set(outages))]
    rows = [_figures(g, a, b, counted, ranked, outages, wanted) for g, a, b in groups]
    return Report(start, end, by, service, team, severity, wanted, rows)


def _figures(
    group: str,
    start: datetime,
    end: datetime,
    counted: dict[str, tuple[int, int]],
    ranked: Summaries,
    outages: dict[str, float],
    targets: Targets,
) -> Figures:
    started, still_open = counted.get(group, (0, 0))
    down = min(_seconds(outages.get(group, 0.0)), end - start)
    between = math.mtbf(end - start, down, started)
    summaries = {name: _summary(ranked.get((group, name))) for name, _ in METRICS}
    mttr = summaries["mttr"].mean
    return Figures(
        group=group,
        period_start=start,
        period_end=end,
        incidents=started,
        open=still_open,
        outage=down,
        mtbf=between,
        availability=math.availability(end - start, down),
        mttr_met=None if mttr is None else mttr < targets.mttr,
        mtbf_met=None if between is None else between > targets.mtbf,
        **summaries,
    )
