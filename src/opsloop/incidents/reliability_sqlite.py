"""The reliability figures on SQLite, through temporary tables.

SQLite has no percentile aggregate, and a window per figure (``row_number()`` over each group
ordered by the duration) cost about 0.25 s per figure over a year of 100,000 incidents: most
of the report. Here each figure's durations are inserted into a temporary table in (group,
duration) order. A row's rowid then is its position, so the value at rank r of a group is the
row at the group's first rowid + r, and a group's first rowid follows from the counts of the
groups before it. Sorting into a table costs a fraction of the window's bookkeeping.

The incidents are read, converted and grouped once, into ``reliability_rows``, which both the
duration summaries and the outage read: grouping by team (a join and a DISTINCT) was a third
of the report when each did it.

Temporary tables belong to the connection, so concurrent reports on other connections never
see each other's rows; each report starts from fresh tables and drops them when it is done.
"""

from __future__ import annotations

from sqlalchemy import bindparam, text

from opsloop.incidents.reliability_sql import (
    METRICS,
    PERCENTILES,
    REACHED,
    Counted,
    Statement,
    Summaries,
    Summary,
    counts_and_means,
    intervals,
    outage_ctes,
    rows_sql,
)

ROWS = "temp.reliability_rows"
RANKED = "temp.reliability_ranked"
INTERVALS = "temp.reliability_intervals"
OWNERS = "temp.reliability_owners"
GROUPS = "temp.reliability_groups"
TABLES = (ROWS, RANKED, INTERVALS, OWNERS, GROUPS)


def figures(st: Statement) -> tuple[Counted, Summaries, dict[str, float]]:
    _drop(st, *TABLES)
    try:
        _owners(st)
        st.execute(f"CREATE TABLE {ROWS} AS {rows_sql(st, owners=f'SELECT * FROM {OWNERS}')}")
        counted, found = _summaries(st)
        return counted, found, _outage(st)
    finally:
        _drop(st, *TABLES)


def _drop(st: Statement, *tables: str) -> None:
    for table in tables:
        st.session.execute(text(f"DROP TABLE IF EXISTS {table}"))


def _owners(st: Statement) -> None:
    """The service -> team mapping joined when grouping by team (a table with a key: SQLite
    searched a VALUES list row by row for every incident)."""
    if st.scope.by != "team" or not st.scope.team_of:
        return
    st.session.execute(text(f"CREATE TABLE {OWNERS} (service TEXT PRIMARY KEY, team TEXT)"))
    rows = [{"s": s, "t": t} for s, t in st.scope.team_of.items()]
    st.session.execute(text(f"INSERT INTO {OWNERS} (service, team) VALUES (:s, :t)"), rows)


def _summaries(st: Statement) -> tuple[Counted, Summaries]:
    rows = list(
        st.execute(f"SELECT grp, {counts_and_means(st)} FROM {ROWS} WHERE inside GROUP BY grp")
    )
    counted: Counted = {row[0]: (int(row[1]), int(row[2] or 0)) for row in rows}
    st.session.execute(text(f"CREATE TABLE {RANKED} (d REAL NOT NULL)"))
    # Groups in the order of SQLite's ORDER BY grp (BINARY: UTF-8 bytes, i.e. code points).
    groups = sorted(rows, key=lambda row: row[0])
    # (group, metric, percentile) -> the rowids of the two values it lies between
    wanted: dict[tuple[str, str, str], tuple[int, int]] = {}
    means: dict[tuple[str, str], tuple[int, float]] = {}
    for k, (metric, _) in enumerate(METRICS):
        last = st.session.execute(text(f"SELECT coalesce(max(rowid), 0) FROM {RANKED}"))
        first = int(last.scalar_one()) + 1
        st.session.execute(
            text(
                f"INSERT INTO {RANKED} (d) SELECT d{k} FROM {ROWS} "
                f"WHERE inside AND d{k} IS NOT NULL ORDER BY grp, d{k}"
            )
        )
        for row in groups:
            n, mean = int(row[3 + 2 * k]), row[4 + 2 * k]
            if n:
                means[(row[0], metric)] = (n, float(mean))
                for name, (low, high) in _ranks(n).items():
                    wanted[(row[0], metric, name)] = (first + low, first + high)
            first += n
    values = _values_at(st, sorted({r for pair in wanted.values() for r in pair}))
    found: Summaries = {}
    for (group, metric), (n, mean) in means.items():
        picks = {}
        for name in PERCENTILES:
            low, high = wanted[(group, metric, name)]
            picks[name] = _interpolate(n, name, values[low], values[high])
        found[(group, metric)] = Summary(n, mean, picks)
    return counted, found


def _ranks(count: int) -> dict[str, tuple[int, int]]:
    """Percentile -> the 0-based ranks of the values it lies between (equal when exact)."""
    found = {}
    for name, (num, den) in PERCENTILES.items():
        low = num * (count - 1) // den
        found[name] = (low, low + (1 if num * (count - 1) % den else 0))
    return found


def _interpolate(count: int, name: str, low: float, high: float) -> float:
    num, den = PERCENTILES[name]
    return low + (high - low) * ((num * (count - 1) % den) / den)


def _values_at(st: Statement, rowids: list[int]) -> dict[int, float]:
    if not rowids:
        return {}
    statement = text(f"SELECT rowid, d FROM {RANKED} WHERE rowid IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    return {int(r): float(d) for r, d in st.session.execute(statement, {"ids": rowids})}


def _outage(st: Statement) -> dict[str, float]:
    """As on PostgreSQL, with the intervals first sorted into a temporary table, so that the
    windows walk them in rowid order instead of sorting them themselves.

    Grouped by service, severity or team, a window partitioned by group cost four times the
    unpartitioned one. Instead each group's intervals are moved into a range of their own (its
    number times a width longer than the period, counted from the period's start), so one
    unpartitioned pass merges every group's intervals into islands that never span two groups;
    each island's length is its group's."""
    if st.scope.by in ("week", "month"):
        st.execute(f"CREATE TABLE {INTERVALS} AS {intervals(st, ROWS)} ORDER BY a, b")
        sql = f"WITH {outage_ctes(st, INTERVALS, 'rowid')} SELECT grp, seconds FROM outs"
        return {row[0]: float(row[1]) for row in st.run(sql)}
    st.session.execute(text(f"CREATE TABLE {GROUPS} (grp TEXT PRIMARY KEY)"))
    st.session.execute(text(f"INSERT INTO {GROUPS} (grp) SELECT DISTINCT grp FROM {ROWS}"))
    start = st.param("start", st.scope.since.timestamp())
    width = st.param("width", (st.scope.until - st.scope.since).total_seconds() + 1)
    st.execute(
        f"CREATE TABLE {INTERVALS} AS SELECT i.grp, (i.a - {start}) + g.rowid * {width} AS a, "
        f"(i.b - {start}) + g.rowid * {width} AS b FROM ({intervals(st, ROWS)}) i "
        f"JOIN {GROUPS} g ON g.grp = i.grp ORDER BY a, b"
    )
    reached = REACHED.format(partition="", order="rowid")
    sql = (
        f"WITH reach AS (SELECT grp, a, {reached} AS reached FROM {INTERVALS}), "
        "starts AS (SELECT grp, a, reached FROM reach WHERE reached IS NULL OR reached < a), "
        "islands AS (SELECT grp, a AS s, COALESCE(lead(reached) OVER (ORDER BY a), "
        f"(SELECT max(b) FROM {INTERVALS})) AS e FROM starts) "
        "SELECT grp, sum(e - s) FROM islands GROUP BY grp"
    )
    return {row[0]: float(row[1]) for row in st.run(sql)}
