"""The SQL behind the reliability figures: three statements per report (counts, the duration
summaries, the outage), each grouped in the database, never a loop over incidents in Python.

Times become seconds since the epoch inside the query (``julianday`` on SQLite, ``EXTRACT(EPOCH
...)`` on PostgreSQL), so the same arithmetic runs on both. Percentiles are picked with
``row_number()`` and ``count()`` over each group ordered by the duration: the two rows around
the interpolated rank (see :func:`opsloop.incidents.math.percentile`) come back, and the caller
interpolates between them.
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

    def group(self) -> tuple[str, str]:
        """The group expression and what to join for it (for the non-time groupings)."""
        by = self.scope.by
        if by == "severity":
            return "s.severity", ""
        join = " JOIN incident_services x ON x.incident_id = s.id"
        if self.scope.services is not None:
            join += " AND x.service IN :names"
        if by == "service":
            return "x.service", join
        cases = " ".join(
            f"WHEN {self.param(f'ts{n}', svc)} THEN {self.param(f'tt{n}', team)}"
            for n, (svc, team) in enumerate(sorted((self.scope.team_of or {}).items()))
        )
        unowned = self.param("unowned", UNOWNED)
        expr = f"CASE x.service {cases} ELSE {unowned} END" if cases else unowned
        return expr, join

    def run(self, sql: str) -> list[Any]:
        statement = text(sql).bindparams(
            bindparam("since", type_=UTCDateTime()), bindparam("until", type_=UTCDateTime())
        )
        for name in self.expanding:
            statement = statement.bindparams(bindparam(name, expanding=True))
        params = {"since": self.scope.since, "until": self.scope.until, **self.params}
        return list(self.session.execute(statement, params))


def _scope_cte(st: _Statement) -> str:
    """Incidents started in the period, with group and times in epoch seconds."""
    times = ", ".join(
        f"{_epoch(st.dialect, 'i.' + c)} AS {c}" for c in ("started_at", *(m[1] for m in METRICS))
    )
    scoped = (
        f"scoped AS (SELECT i.id, i.severity, i.status, {times} FROM incidents i "
        f"WHERE i.started_at >= :since AND i.started_at < :until{st.filters()}), "
    )
    if st.scope.by in ("week", "month"):
        return (
            st.buckets_cte()
            + scoped
            + "keyed AS (SELECT b.label AS grp, s.* FROM scoped s JOIN buckets b "
            "ON s.started_at >= b.bstart AND s.started_at < b.bend)"
        )
    expr, join = st.group()
    return scoped + f"keyed AS (SELECT DISTINCT {expr} AS grp, s.* FROM scoped s{join})"


def counts(session: Session, scope: Scope) -> dict[str, tuple[int, int]]:
    """Group -> (incidents started in the period, of which still open)."""
    st = _Statement(session, scope)
    opened = ", ".join(st.param(f"open{n}", s.value) for n, s in enumerate(Status) if s.is_open)
    sql = (
        f"WITH {_scope_cte(st)} SELECT grp, count(*), "
        f"sum(CASE WHEN status IN ({opened}) THEN 1 ELSE 0 END) FROM keyed GROUP BY grp"
    )
    return {row[0]: (int(row[1]), int(row[2] or 0)) for row in st.run(sql)}


def ranked(session: Session, scope: Scope) -> dict[tuple[str, str], Ranked]:
    """(group, metric) -> the count, mean and the rows around each percentile's rank."""
    st = _Statement(session, scope)
    durations = " UNION ALL ".join(
        f"SELECT grp, '{name}' AS metric, {column} - started_at AS v FROM keyed "
        f"WHERE {column} IS NOT NULL"
        for name, column in METRICS
    )
    picks = []
    for name, (num, den) in PERCENTILES.items():
        low = f"{num} * (n - 1) / {den}"
        high = f"{low} + CASE WHEN {num} * (n - 1) % {den} > 0 THEN 1 ELSE 0 END"
        picks.append(f"max(CASE WHEN i = {low} THEN v END) AS {name}_low")
        picks.append(f"max(CASE WHEN i = {high} THEN v END) AS {name}_high")
    sql = (
        f"WITH {_scope_cte(st)}, d AS ({durations}), "
        "r AS (SELECT grp, metric, v, "
        "row_number() OVER (PARTITION BY grp, metric ORDER BY v) - 1 AS i, "
        "count(*) OVER (PARTITION BY grp, metric) AS n FROM d) "
        f"SELECT grp, metric, count(*), avg(v), {', '.join(picks)} FROM r GROUP BY grp, metric"
    )
    found = {}
    for row in st.run(sql):
        values = list(row[4:])
        names = list(PERCENTILES)
        found[(row[0], row[1])] = Ranked(
            count=int(row[2]),
            mean=float(row[3]),
            lows={n: float(values[2 * k]) for k, n in enumerate(names)},
            highs={n: float(values[2 * k + 1]) for k, n in enumerate(names)},
        )
    return found


def outage(session: Session, scope: Scope) -> dict[str, float]:
    """Group -> seconds covered by the union of its incidents' [started, resolved) intervals,
    clipped to its period (an unresolved incident runs to the period's end). Incidents that
    started before the period but were still unresolved in it count too."""
    st = _Statement(session, scope)
    d = st.dialect
    started, resolved = _epoch(d, "i.started_at"), _epoch(d, "i.resolved_at")
    overlapping = (
        f"scoped AS (SELECT i.id, i.severity, {started} AS started, {resolved} AS resolved "
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
            f"keyed AS (SELECT DISTINCT {expr} AS grp, s.id, s.started, s.resolved, "
            f"CAST({ps} AS FLOAT) AS ps, CAST({pe} AS FLOAT) AS pe FROM scoped s{join})"
        )
    clipped_end = _least(d, "COALESCE(resolved, pe)", "pe")
    sql = (
        f"WITH {keyed}, "
        f"iv AS (SELECT grp, {_greatest(d, 'started', 'ps')} AS a, {clipped_end} AS b "
        "FROM keyed), "
        # An interval starts a new island unless an earlier one (in start order) reaches it.
        "marked AS (SELECT grp, a, b, CASE WHEN a <= max(b) OVER (PARTITION BY grp ORDER BY a, b "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS fresh "
        "FROM iv WHERE b > a), "
        "islands AS (SELECT grp, a, b, sum(fresh) OVER (PARTITION BY grp ORDER BY a, b "
        "ROWS UNBOUNDED PRECEDING) AS island FROM marked), "
        "spans AS (SELECT grp, max(b) - min(a) AS span FROM islands GROUP BY grp, island) "
        "SELECT grp, sum(span) FROM spans GROUP BY grp"
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
