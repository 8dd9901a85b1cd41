"""The SQL behind the reliability figures: the period's incidents grouped and summarised in the
database (counts, duration summaries, outage), never a loop over incidents in Python.

Durations are seconds computed inside the query (``julianday`` on SQLite, ``date_part('epoch',
...)`` on PostgreSQL). Percentiles interpolate between the two values around rank p x (n - 1),
as :func:`opsloop.incidents.math.percentile` does. PostgreSQL has that as
``percentile_cont``, one sort per figure inside the aggregate. SQLite has no such aggregate and
its window functions cost about a quarter of a second per figure over a year of incidents, so
:mod:`opsloop.incidents.reliability_sqlite` sorts each figure's durations into a temporary table
and reads the values at the ranks by position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from opsloop.core.db import UTCDateTime
from opsloop.incidents.buckets import Bucket
from opsloop.incidents.rules import Status

#: Group of an incident whose services no team owns, when grouping by team.
UNOWNED = "(unowned)"
#: (name, column): each figure is column - started_at.
METRICS = (
    ("mttd", "detected_at"),
    ("mtta", "acknowledged_at"),
    ("mttm", "mitigated_at"),
    ("mttr", "resolved_at"),
)
#: PostgreSQL's memory for the statements' sorts (work_mem), per sort.
SORT_MEMORY = "64MB"
#: Percentiles as exact fractions (numerator, denominator), so ranks are integer arithmetic.
PERCENTILES = {"median": (1, 2), "p90": (9, 10)}


@dataclass(frozen=True)
class Scope:
    """Which incidents and how they are grouped."""

    since: datetime
    until: datetime
    by: str  # service, severity, team, week, month
    severity: str | None = None
    # Incidents naming one of these services (None: any); grouping by service or team keeps
    # only these services' rows.
    services: tuple[str, ...] | None = None
    team_of: Mapping[str, str] | None = None  # service -> owner team, for by=team
    buckets: tuple[Bucket, ...] = ()  # for by=week and by=month


@dataclass(frozen=True)
class Summary:
    """One group's figure: how many durations, their mean and the percentiles, in seconds."""

    count: int
    mean: float
    percentiles: dict[str, float]


#: group -> (incidents started in the period, of which still open)
Counted = dict[str, tuple[int, int]]
#: (group, metric) -> its summary; absent where the group has no such duration
Summaries = dict[tuple[str, str], Summary]


def epoch(dialect: str, column: str) -> str:
    if dialect == "sqlite":
        return f"((julianday({column}) - 2440587.5) * 86400.0)"
    # date_part gives a double directly; EXTRACT computes a numeric first, several times slower.
    return f"date_part('epoch', {column})"


def _greatest(dialect: str, a: str, b: str) -> str:
    return f"max({a}, {b})" if dialect == "sqlite" else f"GREATEST({a}, {b})"


def _least(dialect: str, a: str, b: str) -> str:
    return f"min({a}, {b})" if dialect == "sqlite" else f"LEAST({a}, {b})"


class Statement:
    """One statement's text and parameters, built up together."""

    def __init__(self, session: Session, scope: Scope) -> None:
        self.dialect = session.get_bind().dialect.name
        self.scope = scope
        self.params: dict[str, Any] = {}
        self.expanding: set[str] = set()
        self.session = session

    def param(self, name: str, value: Any) -> str:
        self.params[name] = value
        return f":{name}"

    def filters(self) -> str:
        found = []
        if self.scope.severity is not None:
            found.append(f"i.severity = {self.param('severity', self.scope.severity)}")
        if self.scope.services is not None:
            self.expanding.add("names")
            self.params["names"] = list(self.scope.services) or [""]
            found.append(
                "i.id IN (SELECT incident_id FROM incident_services WHERE service IN :names)"
            )
        return "".join(f" AND {f}" for f in found)

    def buckets_cte(self) -> str:
        rows = []
        for n, b in enumerate(self.scope.buckets):
            label = self.param(f"bl{n}", b.label)
            start = self.param(f"bs{n}", b.start.timestamp())
            end = self.param(f"be{n}", b.end.timestamp())
            rows.append(f"({label}, CAST({start} AS FLOAT), CAST({end} AS FLOAT))")
        return f"buckets (label, bstart, bend) AS (VALUES {', '.join(rows)}), "

    def owners_cte(self) -> str:
        """``owners (service, team)``, the catalog's owner of each service, when grouping by
        team (joined: a CASE over every service cost more than the rest of the statement)."""
        if self.scope.by != "team" or not self.scope.team_of:
            return ""
        rows = ", ".join(
            f"({self.param(f'ts{n}', service)}, {self.param(f'tt{n}', team)})"
            for n, (service, team) in enumerate(sorted(self.scope.team_of.items()))
        )
        return f"owners (service, team) AS (VALUES {rows}), "

    def key(self, column: str) -> str:
        """A group column to partition by: byte order on PostgreSQL, whose default collation
        sorts text several times slower (the order of the groups is not shown)."""
        return f'{column} COLLATE "C"' if self.dialect == "postgresql" else column

    def group(self) -> tuple[str, str, str]:
        """For the non-time groupings: the group expression, what to join for it, and
        ``DISTINCT `` where the join could repeat an incident within a group (two services of
        one team make one incident of the team, not two); select ``s.id`` with it. Each
        incident comes once per group (the services' key is (incident, service))."""
        by = self.scope.by
        if by == "severity":
            return "s.severity", "", ""
        services = " JOIN incident_services x ON x.incident_id = s.id"
        if self.scope.services is not None:
            services += " AND x.service IN :names"
        if by == "service":
            return "x.service", services, ""
        unowned = self.param("unowned", UNOWNED)
        if not self.scope.team_of:
            return unowned, services, "DISTINCT "
        owners = " LEFT JOIN owners o ON o.service = x.service"
        return f"coalesce(o.team, {unowned})", services + owners, "DISTINCT "

    def run(self, sql: str) -> list[Any]:
        return list(self.execute(sql))

    def execute(self, sql: str) -> Any:
        """Runs ``sql`` with those of the statement's parameters that it names."""
        named = set(re.findall(r":(\w+)", sql))
        params = {"since": self.scope.since, "until": self.scope.until, **self.params}
        params = {k: v for k, v in params.items() if k in named}
        statement = text(sql)
        for name in ("since", "until"):
            if name in params:
                statement = statement.bindparams(bindparam(name, type_=UTCDateTime()))
        for name in self.expanding & set(params):
            statement = statement.bindparams(bindparam(name, expanding=True))
        if self.dialect == "postgresql":
            # For this transaction only. The planner misjudges the rows of the unions and
            # windows by orders of magnitude and compiles them (JIT: most of a second for a
            # statement that runs in about as long), and the windows sort every duration of
            # the period: with the default 4 MB a year of incidents would sort on disk.
            self.session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
            self.session.execute(text("SET LOCAL jit = off"))
        return self.session.execute(statement, params)


def bucket_label(st: Statement, column: str) -> str:
    """The week or month a time falls in, as a CASE over the bucket ends: cheaper than a join."""
    cases = " ".join(
        f"WHEN {column} < {st.param(f'be{n}', b.end.timestamp())} "
        f"THEN {st.param(f'bl{n}', b.label)}"
        for n, b in enumerate(st.scope.buckets)
    )
    return f"CASE {cases} END"


def scope_cte(st: Statement) -> str:
    """``keyed (grp, status, d0..d3)``: the period's incidents, one row per incident and group,
    with each figure's duration in seconds (NULL where the time is not known yet).
    Materialised: converting the times is much of the work, done once per incident this way."""
    started = epoch(st.dialect, "i.started_at")
    times = ", ".join(
        f"{epoch(st.dialect, 'i.' + column)} - {started} AS d{k}"
        for k, (_, column) in enumerate(METRICS)
    )
    scoped = st.owners_cte() + (
        f"scoped AS MATERIALIZED (SELECT i.id, i.severity, i.status, {started} AS started_at, "
        f"{times} FROM incidents i "
        f"WHERE i.started_at >= :since AND i.started_at < :until{st.filters()}), "
    )
    durations = ", ".join(f"s.d{k}" for k in range(len(METRICS)))
    if st.scope.by in ("week", "month"):
        label = bucket_label(st, "s.started_at")
        return scoped + f"keyed AS (SELECT {label} AS grp, s.status, {durations} FROM scoped s)"
    expr, join, distinct = st.group()
    return scoped + (
        f"keyed AS (SELECT {distinct}{expr} AS grp, s.id, s.status, {durations} "
        f"FROM scoped s{join})"
    )


def open_statuses(st: Statement) -> str:
    return ", ".join(st.param(f"open{n}", s.value) for n, s in enumerate(Status) if s.is_open)


def counts_and_means(st: Statement) -> str:
    """Per group: incidents, open ones, and per figure its count and mean."""
    figures = ", ".join(f"count(d{k}), avg(d{k})" for k in range(len(METRICS)))
    return f"count(*), sum(CASE WHEN status IN ({open_statuses(st)}) THEN 1 ELSE 0 END), {figures}"


def figures(session: Session, scope: Scope) -> tuple[Counted, Summaries, dict[str, float]]:
    """Group -> (incidents started in the period, of which still open); (group, metric) -> the
    count, mean and percentiles of that figure's durations; group -> seconds of outage."""
    st = Statement(session, scope)
    if st.dialect == "sqlite":
        from opsloop.incidents import reliability_sqlite

        return reliability_sqlite.figures(st)
    counted, found = _summaries(st)
    return counted, found, _outage(Statement(session, scope))


def _summaries(st: Statement) -> tuple[Counted, Summaries]:
    # One sort per figure inside percentile_cont; the array gives every percentile of it.
    fractions = ", ".join(
        f"CAST({num} AS DOUBLE PRECISION) / {den}" for num, den in PERCENTILES.values()
    )
    picks = ", ".join(
        f"percentile_cont(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY d{k})"
        for k in range(len(METRICS))
    )
    sql = (
        f"WITH {scope_cte(st)} SELECT {st.key('grp')}, {counts_and_means(st)}, {picks} "
        "FROM keyed GROUP BY 1"
    )
    counted: Counted = {}
    found: Summaries = {}
    figures = len(METRICS)
    for row in st.run(sql):
        counted[row[0]] = (int(row[1]), int(row[2] or 0))
        for k, (metric, _) in enumerate(METRICS):
            n, mean = row[3 + 2 * k], row[4 + 2 * k]
            values = row[3 + 2 * figures + k]
            if n:
                found[(row[0], metric)] = Summary(
                    int(n), float(mean), dict(zip(PERCENTILES, map(float, values), strict=True))
                )
    return counted, found


def intervals_cte(st: Statement) -> str:
    """``iv (grp, a, b)``: each group's incidents as [started, resolved) clipped to the period
    (an unresolved incident runs to the period's end); empty intervals dropped. Incidents that
    started before the period but were still unresolved in it count too. Grouped by week or
    month, all incidents make one group (``grp`` is empty): see :func:`islands_per_bucket`."""
    scope, d = st.scope, st.dialect
    started, resolved = epoch(d, "i.started_at"), epoch(d, "i.resolved_at")
    overlapping = (
        f"scoped AS MATERIALIZED (SELECT i.id, i.severity, {started} AS started, "
        f"{resolved} AS resolved "
        "FROM incidents i WHERE i.started_at < :until "
        f"AND (i.resolved_at IS NULL OR i.resolved_at > :since){st.filters()}), "
    )
    ps = st.param("ps", scope.since.timestamp())
    pe = st.param("pe", scope.until.timestamp())
    period = f"CAST({ps} AS FLOAT) AS ps, CAST({pe} AS FLOAT) AS pe"
    if scope.by in ("week", "month"):
        keyed = (
            overlapping
            + f"keyed AS (SELECT '' AS grp, s.started, s.resolved, {period} FROM scoped s)"
        )
    else:
        expr, join, distinct = st.group()
        keyed = (
            st.owners_cte()
            + overlapping
            + (
                f"keyed AS (SELECT {distinct}{expr} AS grp, s.id, s.started, s.resolved, {period} "
                f"FROM scoped s{join})"
            )
        )
    clipped_end = _least(d, "COALESCE(resolved, pe)", "pe")
    return (
        f"{keyed}, iv AS (SELECT grp, a, b FROM (SELECT grp, "
        f"{_greatest(d, 'started', 'ps')} AS a, {clipped_end} AS b FROM keyed) c WHERE b > a)"
    )


#: Per group, what each interval adds to the union when taken in start order: only what lies
#: beyond the furthest end reached before it (the interval reaching that end started no later,
#: so it covers the rest). ``reached`` is that furthest end, NULL for a group's first interval.
UNION_LENGTH = (
    "sum(CASE WHEN reached IS NULL OR reached <= a THEN b - a "
    "WHEN reached < b THEN b - reached ELSE 0 END)"
)
#: ``reached`` (see UNION_LENGTH) over a group's intervals in the given start order.
REACHED = (
    "max(b) OVER ({partition}ORDER BY {order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
)


def islands_per_bucket(st: Statement, intervals: str, order: str) -> str:
    """The statement giving (bucket label, seconds of outage) from ``intervals`` (a table or
    common table expression with columns a, b; ``order`` orders it by start).

    The union of all the period's intervals is merged into islands first, which are then cut at
    the week or month boundaries: an interval that starts a new island is one that begins after
    every earlier one has ended, and the island before it ends at the furthest end reached
    before it. Cheaper than repeating each interval for every bucket it overlaps (an incident
    left open runs to the period's end, through every bucket after its start)."""
    d = st.dialect
    reached = REACHED.format(partition="", order=order)
    return (
        f"{st.buckets_cte()}"
        f"reach AS (SELECT a, {reached} AS reached FROM {intervals}), "
        "starts AS (SELECT a, reached FROM reach WHERE reached IS NULL OR reached < a), "
        "islands AS (SELECT a AS s, COALESCE(lead(reached) OVER (ORDER BY a), "
        f"(SELECT max(b) FROM {intervals})) AS e FROM starts) "
        f"SELECT k.label, sum({_least(d, 'i.e', 'k.bend')} - {_greatest(d, 'i.s', 'k.bstart')}) "
        "FROM islands i JOIN buckets k ON i.s < k.bend AND i.e > k.bstart GROUP BY k.label"
    )


def _outage(st: Statement) -> dict[str, float]:
    """Group -> seconds covered by the union of its incidents' intervals in its period."""
    if st.scope.by in ("week", "month"):
        sql = f"WITH {intervals_cte(st)}, {islands_per_bucket(st, 'iv', 'a, b')}"
    else:
        reached = REACHED.format(partition=f"PARTITION BY {st.key('grp')} ", order="a, b")
        sql = (
            f"WITH {intervals_cte(st)}, reach AS (SELECT grp, a, b, {reached} AS reached "
            f"FROM iv) SELECT grp, {UNION_LENGTH} FROM reach GROUP BY grp"
        )
    return {row[0]: float(row[1]) for row in st.run(sql)}
