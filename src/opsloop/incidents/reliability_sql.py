"""The SQL behind the reliability figures: two statements per report (counts with the duration
summaries, and the outage), each grouped in the database, never a loop over incidents in Python.

Times become seconds since the epoch inside the query (``julianday`` on SQLite, ``EXTRACT(EPOCH
...)`` on PostgreSQL), so the same arithmetic runs on both. Percentiles are picked with
``row_number()`` and ``count()`` over each group ordered by the duration (one window per
figure, on one row per incident and group): the two values around the interpolated rank (see
:func:`opsloop.incidents.math.percentile`) come back, and the caller interpolates between them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
class Ranked:
    """What one group's duration query gives: enough to finish the percentiles in Python."""

    count: int
    mean: float
    lows: dict[str, float]
    highs: dict[str, float]


def _epoch(dialect: str, column: str) -> str:
    if dialect == "sqlite":
        return f"((julianday({column}) - 2440587.5) * 86400.0)"
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"


def _greatest(dialect: str, a: str, b: str) -> str:
    return f"max({a}, {b})" if dialect == "sqlite" else f"GREATEST({a}, {b})"


def _least(dialect: str, a: str, b: str) -> str:
    return f"min({a}, {b})" if dialect == "sqlite" else f"LEAST({a}, {b})"


class _Statement:
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

    def key(self, column: str) -> str:
        """A group column to partition by: byte order on PostgreSQL, whose default collation
        sorts text several times slower (the order of the groups is not shown)."""
        return f'{column} COLLATE "C"' if self.dialect == "postgresql" else column

    def group(self) -> tuple[str, str]:
        """The group expression and what to join for it (for the non-time groupings); each
        incident comes once per group (the services' key is (incident, service))."""
        by = self.scope.by
        if by == "severity":
            return "s.severity", ""
        only = " AND x.service IN :names" if self.scope.services is not None else ""
        if by == "service":
            return "x.service", f" JOIN incident_services x ON x.incident_id = s.id{only}"
        cases = " ".join(
            f"WHEN {self.param(f'ts{n}', svc)} THEN {self.param(f'tt{n}', team)}"
            for n, (svc, team) in enumerate(sorted((self.scope.team_of or {}).items()))
        )
        unowned = self.param("unowned", UNOWNED)
        expr = f"CASE x.service {cases} ELSE {unowned} END" if cases else unowned
        # Two services of one team make one incident of the team, not two.
        teams = (
            f"SELECT DISTINCT {expr} AS grp, x.incident_id FROM incident_services x "
            f"WHERE 1 = 1{only}"
        )
        return "t.grp", f" JOIN ({teams}) t ON t.incident_id = s.id"

    def run(self, sql: str) -> list[Any]:
        statement = text(sql).bindparams(
            bindparam("since", type_=UTCDateTime()), bindparam("until", type_=UTCDateTime())
        )
        for name in self.expanding:
            statement = statement.bindparams(bindparam(name, expanding=True))
        params = {"since": self.scope.since, "until": self.scope.until, **self.params}
        if self.dialect == "postgresql":
            # For this transaction only. The planner misjudges the rows of the unions and
            # windows by orders of magnitude and compiles them (JIT: most of a second for a
            # statement that runs in about as long), and the windows sort every duration of
            # the period: with the default 4 MB a year of incidents would sort on disk.
            self.session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
            self.session.execute(text("SET LOCAL jit = off"))
        return list(self.session.execute(statement, params))


def _bucket_label(st: _Statement, column: str) -> str:
    """The week or month a time falls in, as a CASE over the bucket ends: cheaper than a join."""
    cases = " ".join(
        f"WHEN {column} < {st.param(f'be{n}', b.end.timestamp())} "
        f"THEN {st.param(f'bl{n}', b.label)}"
        for n, b in enumerate(st.scope.buckets)
    )
    return f"CASE {cases} END"


def _scope_cte(st: _Statement) -> str:
    """Incidents started in the period, with group and times in epoch seconds. Materialised:
    converting the times is much of the work, done once per incident this way."""
    times = ", ".join(
        f"{_epoch(st.dialect, 'i.' + c)} AS {c}" for c in ("started_at", *(m[1] for m in METRICS))
    )
    scoped = (
        f"scoped AS MATERIALIZED (SELECT i.id, i.severity, i.status, {times} FROM incidents i "
        f"WHERE i.started_at >= :since AND i.started_at < :until{st.filters()}), "
    )
    if st.scope.by in ("week", "month"):
        label = _bucket_label(st, "s.started_at")
        return scoped + f"keyed AS (SELECT {label} AS grp, s.* FROM scoped s)"
    expr, join = st.group()
    return scoped + (f"keyed AS (SELECT {expr} AS grp, s.* FROM scoped s{join})")


def summaries(
    session: Session, scope: Scope
) -> tuple[dict[str, tuple[int, int]], dict[tuple[str, str], Ranked]]:
    """In one statement: group -> (incidents started in the period, of which still open), and
    (group, metric) -> the count, mean and the rows around each percentile's rank."""
    st = _Statement(session, scope)
    opened = ", ".join(st.param(f"open{n}", s.value) for n, s in enumerate(Status) if s.is_open)
    group = st.key("grp")
    # One row per incident and group, each duration ranked within the group by its own window
    # (missing durations sorted last, so they take no rank before a known one).
    ranked = ", ".join(
        f"{column} - started_at AS d{k}, "
        f"row_number() OVER (PARTITION BY {group} ORDER BY {column} IS NULL, {column} - started_at)"
        f" - 1 AS i{k}, count({column}) OVER (PARTITION BY {group}) AS n{k}"
        for k, (_, column) in enumerate(METRICS)
    )
    figures = []
    for k in range(len(METRICS)):
        figures += [f"max(n{k})", f"avg(d{k})"]
        for num, den in PERCENTILES.values():
            low = f"{num} * (n{k} - 1) / {den}"
            high = f"{low} + CASE WHEN {num} * (n{k} - 1) % {den} > 0 THEN 1 ELSE 0 END"
            figures.append(f"max(CASE WHEN i{k} = {low} THEN d{k} END)")
            figures.append(f"max(CASE WHEN i{k} = {high} THEN d{k} END)")
    sql = (
        f"WITH {_scope_cte(st)}, r AS (SELECT grp, status, {ranked} FROM keyed) "
        f"SELECT grp, count(*), sum(CASE WHEN status IN ({opened}) THEN 1 ELSE 0 END), "
        f"{', '.join(figures)} FROM r GROUP BY grp"
    )
    counted: dict[str, tuple[int, int]] = {}
    found = {}
    names = list(PERCENTILES)
    width = 2 + 2 * len(names)
    for row in st.run(sql):
        counted[row[0]] = (int(row[1]), int(row[2] or 0))
        for k, (metric, _) in enumerate(METRICS):
            n, mean, *picks = row[3 + k * width : 3 + (k + 1) * width]
            if not n:
                continue
            found[(row[0], metric)] = Ranked(
                count=int(n),
                mean=float(mean),
                lows={p: float(picks[2 * j]) for j, p in enumerate(names)},
                highs={p: float(picks[2 * j + 1]) for j, p in enumerate(names)},
            )
    return counted, found


def outage(session: Session, scope: Scope) -> dict[str, float]:
    """Group -> seconds covered by the union of its incidents' [started, resolved) intervals,
    clipped to its period (an unresolved incident runs to the period's end). Incidents that
    started before the period but were still unresolved in it count too."""
    st = _Statement(session, scope)
    d = st.dialect
    started, resolved = _epoch(d, "i.started_at"), _epoch(d, "i.resolved_at")
    overlapping = (
        f"scoped AS MATERIALIZED (SELECT i.id, i.severity, {started} AS started, "
        f"{resolved} AS resolved "
        "FROM incidents i WHERE i.started_at < :until "
        f"AND (i.resolved_at IS NULL OR i.resolved_at > :since){st.filters()}), "
    )
    if scope.by in ("week", "month"):
        keyed = (
            st.buckets_cte()
            + overlapping
            + "keyed AS (SELECT b.label AS grp, s.started, s.resolved, b.bstart AS ps, "
            "b.bend AS pe FROM scoped s JOIN buckets b ON s.started < b.bend "
            "AND (s.resolved IS NULL OR s.resolved > b.bstart))"
        )
    else:
        expr, join = st.group()
        ps = st.param("ps", scope.since.timestamp())
        pe = st.param("pe", scope.until.timestamp())
        keyed = overlapping + (
            f"keyed AS (SELECT {expr} AS grp, s.id, s.started, s.resolved, "
            f"CAST({ps} AS FLOAT) AS ps, CAST({pe} AS FLOAT) AS pe FROM scoped s{join})"
        )
    clipped_end = _least(d, "COALESCE(resolved, pe)", "pe")
    sql = (
        f"WITH {keyed}, "
        f"iv AS (SELECT grp, {_greatest(d, 'started', 'ps')} AS a, {clipped_end} AS b "
        "FROM keyed), "
        # In start order, each interval adds only what lies beyond the furthest end reached
        # before it: the interval reaching that end started no later, so it covers the rest.
        f"reach AS (SELECT grp, a, b, max(b) OVER (PARTITION BY {st.key('grp')} ORDER BY a, b "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reached FROM iv WHERE b > a) "
        "SELECT grp, sum(CASE WHEN reached IS NULL OR reached <= a THEN b - a "
        "WHEN reached < b THEN b - reached ELSE 0 END) FROM reach GROUP BY grp"
    )
    return {row[0]: float(row[1]) for row in st.run(sql)}


def service_names(session: Session, scope: Scope) -> Sequence[str]:
    """The services named by incidents that can be in the report (for the team mapping)."""
    sql = (
        "SELECT DISTINCT x.service FROM incident_services x JOIN incidents i "
        "ON i.id = x.incident_id WHERE i.started_at < :until "
        "AND (i.resolved_at IS NULL OR i.resolved_at > :since)"
    )
    st = _Statement(session, scope)
    return [row[0] for row in st.run(sql)]
