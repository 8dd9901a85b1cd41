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

    def owners_values(self) -> str:
        """The catalog's owner of each service as ``SELECT``-able rows (service, team), for the
        team grouping's join (a CASE over every service cost more than the rest)."""
        rows = ", ".join(
            f"({self.param(f'ts{n}', service)}, {self.param(f'tt{n}', team)})"
            for n, (service, team) in enumerate(sorted((self.scope.team_of or {}).items()))
        )
        return f"SELECT * FROM (VALUES {rows}) AS v (service, team)"

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


def rows_sql(st: Statement, owners: str) -> str:
    """A statement giving one row per incident and group of every incident unresolved at some
    time in the period (the outage's incidents): ``grp``, ``inside`` (started in the period:
    the counts' and durations' incidents), ``status``, ``started`` and ``resolved`` in epoch
    seconds, and each figure's duration ``d0..d3`` in seconds (NULL where not known yet).
    Grouped by week or month, ``grp`` is the week or month it started in, NULL before the
    period. ``owners`` is what the team grouping joins as ``owners (service, team)``."""
    d = st.dialect
    started = epoch(d, "i.started_at")
    durations = ", ".join(
        f"{epoch(d, 'i.' + column)} - {started} AS d{k}" for k, (_, column) in enumerate(METRICS)
    )
    base = (
        f"base AS (SELECT i.id, i.severity, i.status, i.started_at >= :since AS inside, "
        f"{started} AS started, {epoch(d, 'i.resolved_at')} AS resolved, {durations} "
        "FROM incidents i WHERE i.started_at < :until AND (i.started_at >= :since "
        f"OR i.resolved_at IS NULL OR i.resolved_at > :since){st.filters()})"
    )
    columns = "s.inside, s.status, s.started, s.resolved, " + ", ".join(
        f"s.d{k}" for k in range(len(METRICS))
    )
    if st.scope.by in ("week", "month"):
        label = f"CASE WHEN s.inside THEN {bucket_label(st, 's.started')} END"
        return f"WITH {base} SELECT {label} AS grp, {columns} FROM base s"
    with_owners = f"owners AS ({owners}), " if st.scope.by == "team" and st.scope.team_of else ""
    expr, join, distinct = st.group()
    return (
        f"WITH {with_owners}{base} SELECT {distinct}{expr} AS grp, s.id, {columns} "
        "FROM base s" + join
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
    return _figures_postgresql(st)


def intervals(st: Statement, rows: str) -> str:
    """SQL of each row's interval [started, resolved) clipped to the period (an unresolved
    incident runs to the period's end), empty ones left out: columns grp, a, b. Grouped by
    week or month every incident is in one group (``grp`` empty): see islands_per_bucket."""
    ps = f"CAST({st.param('ps', st.scope.since.timestamp())} AS FLOAT)"
    pe = f"CAST({st.param('pe', st.scope.until.timestamp())} AS FLOAT)"
    d = st.dialect
    grp = "''" if st.scope.by in ("week", "month") else "grp"
    return (
        f"SELECT grp, a, b FROM (SELECT {grp} AS grp, {_greatest(d, 'started', ps)} AS a, "
        f"{_least(d, f'COALESCE(resolved, {pe})', pe)} AS b FROM {rows}) c WHERE b > a"
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


def outage_ctes(st: Statement, source: str, order: str) -> str:
    """Common table expressions ending in ``outs (grp, seconds)``: the outage of each group
    from ``source`` (a table or common table expression of intervals grp, a, b; ``order``
    orders it by start within a group).

    By week or month, the union of all the period's intervals is merged into islands first and
    the islands are cut at the week or month boundaries: an interval that starts a new island
    begins after every earlier one has ended, and the island before it ends at the furthest end
    reached before it. Cheaper than repeating each interval for every bucket it overlaps (an
    incident left open runs to the period's end, through every bucket after its start)."""
    if st.scope.by not in ("week", "month"):
        reached = REACHED.format(partition=f"PARTITION BY {st.key('grp')} ", order=order)
        return (
            f"reach AS (SELECT grp, a, b, {reached} AS reached FROM {source}), "
            f"outs AS (SELECT grp, {UNION_LENGTH} AS seconds FROM reach GROUP BY grp)"
        )
    d = st.dialect
    reached = REACHED.format(partition="", order=order)
    return (
        f"{st.buckets_cte()}"
        f"reach AS (SELECT a, {reached} AS reached FROM {source}), "
        "starts AS (SELECT a, reached FROM reach WHERE reached IS NULL OR reached < a), "
        "islands AS (SELECT a AS s, COALESCE(lead(reached) OVER (ORDER BY a), "
        f"(SELECT max(b) FROM {source})) AS e FROM starts), "
        "outs AS (SELECT k.label AS grp, "
        f"sum({_least(d, 'i.e', 'k.bend')} - {_greatest(d, 'i.s', 'k.bstart')}) AS seconds "
        "FROM islands i JOIN buckets k ON i.s < k.bend AND i.e > k.bstart GROUP BY k.label)"
    )


def _figures_postgresql(st: Statement) -> tuple[Counted, Summaries, dict[str, float]]:
    """One statement: the rows once, then the summaries (one sort per figure inside
    percentile_cont, whose array gives every percentile of it) beside the outage."""
    fractions = ", ".join(
        f"CAST({num} AS DOUBLE PRECISION) / {den}" for num, den in PERCENTILES.values()
    )
    picks = ", ".join(
        f"percentile_cont(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY d{k})"
        for k in range(len(METRICS))
    )
    rows = rows_sql(st, owners=st.owners_values())
    sql = (
        f"WITH r AS MATERIALIZED ({rows}), "
        f"sums AS (SELECT {st.key('grp')} AS grp, {counts_and_means(st)}, {picks} FROM r "
        "WHERE inside GROUP BY 1), "
        f"iv AS ({intervals(st, 'r')}), {outage_ctes(st, 'iv', 'a, b')} "
        "SELECT COALESCE(s.grp, o.grp), s.*, o.seconds FROM sums s FULL JOIN outs o "
        "ON s.grp = o.grp"
    )
    counted: Counted = {}
    found: Summaries = {}
    outages: dict[str, float] = {}
    figures = len(METRICS)
    for row in st.run(sql):
        group, sums, seconds = row[0], row[1:-1], row[-1]
        if seconds is not None:
            outages[group] = float(seconds)
        if sums[0] is None:
            continue
        counted[group] = (int(sums[1]), int(sums[2] or 0))
        for k, (metric, _) in enumerate(METRICS):
            n, mean = sums[3 + 2 * k], sums[4 + 2 * k]
            values = sums[3 + 2 * figures + k]
            if n:
                found[(group, metric)] = Summary(
                    int(n), float(mean), dict(zip(PERCENTILES, map(float, values), strict=True))
                )
    return counted, found, outages
