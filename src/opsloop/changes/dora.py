"""DORA's four keys from the change records, per service, team, week or month.

The aggregates run in SQL, one statement per key over every group at once: counts and failure
counts by ``GROUP BY``, lead-time percentiles by ranking each group's lead times with window
functions (``ROW_NUMBER``/``COUNT`` over the group) and picking the two ranks either side of
the percentile, as :func:`opsloop.changes.dora_math.ranks` does; Python only interpolates
between those two values per group. Time to restore reads the few incidents changes caused
through the incident service.

Which changes count (see docs/changes.md): changes that finished in the period as completed,
failed or rolled back. A deployment is a completed one; a failure is one that failed, was
rolled back, names an incident, is named as the cause of an incident
(:func:`_incidents_caused_by`), or failed its verification (:func:`_failed_verifications`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, cast, func, literal, select
from sqlalchemy.orm import Session

from opsloop.changes import dora_math as dm
from opsloop.changes.impact_rules import Verdict
from opsloop.changes.models import Change
from opsloop.changes.rules import ChangeState
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.incidents import causes
from opsloop.incidents import service as incidents
from opsloop.services import service as catalog
from opsloop.services import teams

GROUPINGS = ("service", "team", "week", "month")
NO_TEAM = "(no team)"
COUNTED = [ChangeState.completed, ChangeState.failed, ChangeState.rolled_back]
FAILED = [ChangeState.failed, ChangeState.rolled_back]


def _incidents_caused_by(session: Session, keys: Collection[str]) -> dict[str, list[str]]:
    """The incidents each change (by key) is named as the cause of; a change's own
    ``incident_key`` (named when it was rolled back) is read by the queries themselves."""
    return causes.incidents_caused_by_each(session, keys=keys)


def _failed_verifications(session: Session, keys: Collection[str]) -> set[str]:
    """The changes (by key) whose latest verification after completion failed."""
    if not keys:
        return set()
    query = select(Change.key).where(
        Change.key.in_(sorted(keys)), Change.verification == Verdict.failed.value
    )
    return set(session.scalars(query))


@dataclass(frozen=True)
class DoraRow:
    group: str
    since: datetime
    until: datetime
    deployments: int
    deploys_per_day: float
    lead_time_median: float | None
    lead_time_p90: float | None
    lead_times: int
    finished: int
    failures: int
    failure_rate: float | None
    incidents: int
    restore_median: float | None
    bands: dict[str, dm.Band | None] = field(default_factory=dict)

    @property
    def deploys_per_week(self) -> float:
        return self.deploys_per_day * 7


@dataclass(frozen=True)
class DoraReport:
    since: datetime
    until: datetime
    by: str
    rows: list[DoraRow]
    total: DoraRow


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    if _dialect(session) == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _bucket(session: Session, by: str, column: Any) -> Any:
    """The week (its Monday, YYYY-MM-DD) or month (YYYY-MM) a UTC time falls in."""
    if _dialect(session) == "postgresql":
        utc = func.timezone("UTC", column)
        if by == "week":
            return func.to_char(func.date_trunc("week", utc), "YYYY-MM-DD")
        return func.to_char(utc, "YYYY-MM")
    if by == "week":
        return func.date(column, "weekday 0", "-6 days")
    return func.strftime("%Y-%m", column)


def buckets(since: datetime, until: datetime, by: str) -> list[tuple[str, datetime, datetime]]:
    """The weeks or months of [since, until), each clipped to it, labelled as :func:`_bucket`
    labels them."""
    found = []
    day = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = day - timedelta(days=day.weekday()) if by == "week" else day.replace(day=1)
    while start < until:
        if by == "week":
            end = start + timedelta(days=7)
            label = start.strftime("%Y-%m-%d")
        else:
            end = (start + timedelta(days=32)).replace(day=1)
            label = start.strftime("%Y-%m")
        found.append((label, max(start, since), min(end, until)))
        start = end
    return found


def _scope(
    session: Session, since: datetime, until: datetime, service: str | None, team: str | None
) -> list[Any]:
    if since >= until:
        raise ValidationFailed("since: must be before until", field="since")
    found: list[Any] = [
        Change.finished_at.is_not(None),
        Change.finished_at >= since,
        Change.finished_at < until,
        Change.state.in_(COUNTED),
    ]
    if service:
        found.append(Change.service == service)
    if team:
        if teams.find_team(session, name=team) is None:
            raise ValidationFailed(f"team: no team {team!r}", field="team")
        found.append(Change.service.in_(catalog.services_owned_by(session, team=team)))
    return found


def _group_expr(session: Session, by: str | None, conds: list[Any]) -> Any:
    if by is None:
        return literal("all")
    if by == "service":
        return Change.service
    if by == "team":
        names = session.scalars(select(Change.service).where(*conds).distinct()).all()
        owners = {
            n: f.owner_team or NO_TEAM for n, f in catalog.routing_facts(session, names).items()
        }
        if not owners:
            return literal(NO_TEAM)
        return case(owners, value=Change.service, else_=literal(NO_TEAM))
    if by in ("week", "month"):
        return _bucket(session, by, Change.finished_at)
    raise ValidationFailed(f"by: {by!r} is not one of {', '.join(GROUPINGS)}", field="by")


def _failure_condition(linked: Collection[str]) -> Any:
    found = Change.state.in_(FAILED) | Change.incident_key.is_not(None)
    if linked:
        found = found | Change.key.in_(sorted(linked))
    return found


def _counts(session: Session, g: Any, conds: list[Any], linked: Collection[str]) -> dict[str, Any]:
    done = case((Change.state == ChangeState.completed, 1), else_=0)
    failed = case((_failure_condition(linked), 1), else_=0)
    inner = select(g.label("g"), done.label("done"), failed.label("failed")).where(*conds)
    sub = inner.subquery()
    query = select(sub.c.g, func.count(), func.sum(sub.c.done), func.sum(sub.c.failed)).group_by(
        sub.c.g
    )
    return {row[0]: row for row in session.execute(query)}


def _lead_times(session: Session, g: Any, conds: list[Any]) -> dict[str, dict[str, Any]]:
    """Per group: how many lead times, and the values either side of the median and p90."""
    start = func.coalesce(Change.committed_at, Change.submitted_at)
    lead = seconds_between(session, Change.finished_at, start)
    inner = (
        select(g.label("g"), lead.label("v"))
        .where(*conds, Change.state == ChangeState.completed, start.is_not(None))
        .subquery()
    )
    ranked = select(
        inner.c.g,
        inner.c.v,
        (func.row_number().over(partition_by=inner.c.g, order_by=inner.c.v) - 1).label("rn"),
        cast(func.count().over(partition_by=inner.c.g), Integer).label("n"),
    ).subquery()
    n, rn, v = ranked.c.n, ranked.c.rn, ranked.c.v
    picks = []
    for percent in (50, 90):
        lower = (n - 1) * percent // 100
        upper = ((n - 1) * percent + 99) // 100
        picks.append(func.max(case((rn == lower, v))).label(f"lo{percent}"))
        picks.append(func.max(case((rn == upper, v))).label(f"hi{percent}"))
    query = select(ranked.c.g, n, *picks).group_by(ranked.c.g, n)
    found: dict[str, dict[str, Any]] = {}
    for row in session.execute(query):
        count = int(row.n)
        values: dict[str, Any] = {"n": count}
        for percent in (50, 90):
            _, _, weight = dm.ranks(count, percent)
            low, high = row._mapping[f"lo{percent}"], row._mapping[f"hi{percent}"]
            values[f"p{percent}"] = dm.between(float(low), float(high), weight)
        found[row.g] = values
    return found


def _restores(
    session: Session, g: Any, conds: list[Any], caused: dict[str, list[str]]
) -> dict[str, list[float]]:
    """Per group: restore times (resolved minus started) of the resolved incidents its
    changes caused, each incident once per group."""
    query = select(g.label("g"), Change.key, Change.incident_key).where(
        *conds, Change.incident_key.is_not(None) | Change.key.in_(sorted(caused) or [""])
    )
    keys: dict[str, set[str]] = {}
    for group, change_key, incident_key in session.execute(query):
        named = {incident_key} if incident_key else set()
        keys.setdefault(group, set()).update(named | set(caused.get(change_key, [])))
    times: dict[str, float | None] = {}
    found: dict[str, list[float]] = {}
    for group, named in keys.items():
        for key in sorted(named):
            if key not in times:
                times[key] = _restore_seconds(session, key)
            if times[key] is not None:
                found.setdefault(group, []).append(times[key])  # type: ignore[arg-type]
    return found


def _restore_seconds(session: Session, key: str) -> float | None:
    try:
        found = incidents.get_incident(session, key=key)
    except NotFound:
        return None
    if found.resolved_at is None:
        return None
    return (found.resolved_at - found.started_at).total_seconds()


def _rows(
    session: Session,
    by: str | None,
    conds: list[Any],
    spans: dict[str, tuple[datetime, datetime]],
    default_span: tuple[datetime, datetime],
) -> dict[str, DoraRow]:
    g = _group_expr(session, by, conds)
    keys = list(session.scalars(select(Change.key).where(*conds)))
    caused = {k: v for k, v in _incidents_caused_by(session, keys).items() if v}
    linked = set(caused) | _failed_verifications(session, keys)
    counts = _counts(session, g, conds, linked)
    leads = _lead_times(session, g, conds)
    restores = _restores(session, g, conds, caused)
    found = {}
    for group in sorted(set(counts) | set(spans)):
        _, finished, done, failures = counts.get(group, (group, 0, 0, 0))
        since, until = spans.get(group, default_span)
        found[group] = make_row(
            group,
            since,
            until,
            deployments=int(done or 0),
            finished=int(finished or 0),
            failures=int(failures or 0),
            leads=leads.get(group, {}),
            restores=restores.get(group, []),
        )
    return found


def make_row(
    group: str,
    since: datetime,
    until: datetime,
    *,
    deployments: int,
    finished: int,
    failures: int,
    leads: dict[str, Any],
    restores: Sequence[float],
) -> DoraRow:
    days = (until - since) / timedelta(days=1)
    frequency = dm.per_day(deployments, days)
    failure_rate = dm.rate(failures, finished)
    restore = dm.median(restores)
    median = leads.get("p50")
    return DoraRow(
        group=group,
        since=since,
        until=until,
        deployments=deployments,
        deploys_per_day=frequency,
        lead_time_median=median,
        lead_time_p90=leads.get("p90"),
        lead_times=int(leads.get("n", 0)),
        finished=finished,
        failures=failures,
        failure_rate=failure_rate,
        incidents=len(restores),
        restore_median=restore,
        bands={
            "deployment_frequency": dm.frequency_band(frequency),
            "lead_time": dm.lead_time_band(median),
            "change_failure_rate": dm.failure_band(failure_rate),
            "time_to_restore": dm.restore_band(restore),
        },
    )


def dora(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    by: str = "service",
    service: str | None = None,
    team: str | None = None,
) -> DoraReport:
    """The four keys of changes that finished in [since, until), per group, and overall."""
    if by not in GROUPINGS:
        raise ValidationFailed(f"by: {by!r} is not one of {', '.join(GROUPINGS)}", field="by")
    conds = _scope(session, since, until, service, team)
    spans: dict[str, tuple[datetime, datetime]] = {}
    if by in ("week", "month"):
        spans = {label: (start, end) for label, start, end in buckets(since, until, by)}
    rows = _rows(session, by, conds, spans, (since, until))
    total = _rows(session, None, conds, {"all": (since, until)}, (since, until))["all"]
    return DoraReport(since=since, until=until, by=by, rows=list(rows.values()), total=total)
