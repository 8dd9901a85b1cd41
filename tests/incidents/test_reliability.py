"""Reliability figures in SQL against the pure reference (opsloop.incidents.math) on seeded
random incidents, grouped every way, and small cases computed by hand. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from opsloop.core import clock
from opsloop.core.db import Database
from opsloop.core.errors import ValidationFailed
from opsloop.incidents import math, reliability
from opsloop.incidents.buckets import buckets
from opsloop.incidents.reliability_sql import UNOWNED
from opsloop.incidents.rules import Severity
from tests.incidents.helpers import make_service
from tests.incidents.reliability_data import Made, at, make_team, random_incidents, store

SERVICES = ["api", "checkout", "search", "web"]
OWNERS = {"api": "core", "checkout": "payments", "search": "core"}  # web: unowned


def _close(a: timedelta | None, b: timedelta | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) < 0.01


def _expect(made: list[Made], start: datetime, end: datetime) -> dict[str, object]:
    started = [m for m in made if start <= m.started < end]
    period = end - start
    down = math.outage(((m.started, m.resolved) for m in made), start, end)
    return {
        "incidents": len(started),
        "open": sum(1 for m in started if m.resolved is None),
        "mttd": math.durations((m.started, m.detected) for m in started),
        "mtta": math.durations((m.started, m.acknowledged) for m in started),
        "mttm": math.durations((m.started, m.mitigated) for m in started),
        "mttr": math.durations((m.started, m.resolved) for m in started),
        "outage": down,
        "mtbf": math.mtbf(period, down, len(started)),
        "availability": math.availability(period, down),
    }


def _check(found: reliability.Figures, expected: dict[str, object]) -> None:
    assert found.incidents == expected["incidents"], found.group
    assert found.open == expected["open"], found.group
    for name in ("mttd", "mtta", "mttm", "mttr"):
        got, want = getattr(found, name), expected[name]
        assert isinstance(want, math.Durations)
        assert got.count == want.count, (found.group, name)
        for part in ("mean", "median", "p90"):
            assert _close(getattr(got, part), getattr(want, part)), (found.group, name, part)
    assert _close(found.outage, expected["outage"]), found.group  # type: ignore[arg-type]
    assert _close(found.mtbf, expected["mtbf"]), found.group  # type: ignore[arg-type]
    assert found.availability == pytest.approx(expected["availability"], abs=1e-7)


@pytest.mark.parametrize("seed", [1, 2])
def test_sql_equals_the_reference_every_grouping(
    db: Database, frozen_clock: clock.FrozenClock, seed: int
) -> None:
    make_team(db, "core")
    make_team(db, "payments")
    for name in SERVICES:
        make_service(db, name, OWNERS.get(name))
    # Neither end on a week or month boundary: the first and last buckets are clipped.
    start, end = at("2026-06-03T05:00:00"), at("2026-09-28T13:30:00")
    # Some start before the period, so outage clipping at its start is exercised too.
    made = random_incidents(seed, 160, start - timedelta(days=5), 125, SERVICES)
    store(db, made)
    with db.read() as session:
        for by in reliability.GROUPINGS:
            found = reliability.report(session, by=by, since=start, until=end)
            assert found.since == start and found.until == end
            if by in ("week", "month"):
                periods = buckets(start, end, by)
                assert [g.group for g in found.groups] == [b.label for b in periods]
                for g, b in zip(found.groups, periods, strict=True):
                    _check(g, _expect(made, b.start, b.end))
                continue
            for g in found.groups:
                if by == "service":
                    mine = [m for m in made if g.group in m.services]
                elif by == "severity":
                    mine = [m for m in made if m.severity.value == g.group]
                else:
                    mine = [
                        m
                        for m in made
                        if any(OWNERS.get(s, UNOWNED) == g.group for s in m.services)
                    ]
                _check(g, _expect(mine, start, end))
            if by == "team":
                assert {g.group for g in found.groups} <= {"core", "payments", UNOWNED}
        narrowed = reliability.report(
            session, by="month", since=start, until=end, team="core", severity=Severity.SEV2
        )
        mine = [
            m for m in made if m.severity == Severity.SEV2 and {"api", "search"} & set(m.services)
        ]
        for g, b in zip(narrowed.groups, buckets(start, end, "month"), strict=True):
            _check(g, _expect(mine, b.start, b.end))


def test_hand_computed_figures(db: Database, frozen_clock: clock.FrozenClock) -> None:
    make_service(db, "api")
    day = at("2026-10-01T00:00:00")

    def h(hours: float) -> datetime:
        return day + timedelta(hours=hours)

    store(
        db,
        [
            # 10:00-12:00 and 11:00-13:00 overlap: 3 h of outage, not 4.
            Made(Severity.SEV1, ("api",), h(10), h(10 + 5 / 60), acknowledged=h(10 + 10 / 60),
                 resolved=h(12)),
            Made(Severity.SEV2, ("api",), h(11), h(11.25), resolved=h(13)),
            # Open: counted, no MTTR; runs to the end of the period (1 h).
            Made(Severity.SEV3, ("api",), h(23), h(23)),
        ],
    )  # fmt: skip
    with db.read() as session:
        found = reliability.report(session, by="service", since=day, until=day + timedelta(days=1))
    (api,) = found.groups
    assert (api.group, api.incidents, api.open) == ("api", 3, 1)
    assert api.mttr.count == 2 and api.mttr.mean == timedelta(hours=2)
    assert api.mttd.median == timedelta(minutes=5)  # 5, 15, 0 minutes
    assert api.mttd.p90 == timedelta(minutes=13)  # 10 + (15 - 5) * 0.8... of sorted 0, 5, 15
    assert api.mtta.count == 1 and api.mtta.p90 == timedelta(minutes=10)
    assert api.outage == timedelta(hours=4)  # 10:00-13:00 and 23:00-24:00
    assert api.mtbf == timedelta(hours=20) / 3
    assert api.availability == pytest.approx(20 / 24)
    assert api.mttr_met is True and api.mtbf_met is False


def test_an_open_incident_runs_through_every_later_month_and_nothing_is_left_behind(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    """Grouped by month the outage is merged into islands and then cut at the month ends; the
    temporary tables SQLite ranks in belong to the report alone."""
    make_service(db, "api")
    store(
        db,
        [
            Made(Severity.SEV2, ("api",), at("2026-07-20T00:00:00"), at("2026-07-20T00:00:00"),
                 resolved=at("2026-08-02T00:00:00")),
            # Inside the first one: adds nothing.
            Made(Severity.SEV3, ("api",), at("2026-07-25T00:00:00"), at("2026-07-25T00:00:00"),
                 resolved=at("2026-07-26T00:00:00")),
            # Never resolved: to the end of the period.
            Made(Severity.SEV1, ("api",), at("2026-09-30T12:00:00"), at("2026-09-30T12:00:00")),
        ],
    )  # fmt: skip
    with db.read() as session:
        found = reliability.report(
            session, by="month", since=at("2026-07-01T00:00:00"), until=at("2026-10-11T00:00:00")
        )
        if db.dialect == "sqlite":
            left = session.execute(text("SELECT name FROM sqlite_temp_master")).all()
            assert left == []
    outage = {g.group: g.outage for g in found.groups}
    assert outage == {
        "2026-07": timedelta(days=12),
        "2026-08": timedelta(days=1),
        "2026-09": timedelta(hours=12),
        "2026-10": timedelta(days=10),
    }
    assert [g.incidents for g in found.groups] == [2, 0, 1, 0]


def test_bad_periods_and_groupings_name_the_field(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    with db.read() as session:
        for kwargs, field in (
            ({"by": "year"}, "by"),
            ({"by": "week", "since": at("2026-10-02"), "until": at("2026-10-01")}, "since"),
            ({"by": "week", "since": at("2027-01-01T00:00")}, "since"),
            ({"by": "team", "team": "nobody"}, "team"),
        ):  # fmt: skip
            with pytest.raises(ValidationFailed) as failed:
                reliability.report(session, **kwargs)  # type: ignore[arg-type]
            assert failed.value.field == field
        empty = reliability.report(session, by="month")
    assert empty.until == clock.now() and empty.since == empty.until - timedelta(days=30)
    assert [g.incidents for g in empty.groups] == [0, 0]
    assert all(g.availability == 1.0 and g.mtbf is None for g in empty.groups)
