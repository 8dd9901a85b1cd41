"""The DORA queries agree with the pure reference on random change records, grouped by
service, team, week and month. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsloop.changes import dora
from opsloop.changes import dora_math as dm
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.core.errors import ValidationFailed
from opsloop.services import teams
from opsloop.services.entries import TeamEntry
from tests.changes.dora_data import random_changes
from tests.changes.helpers import make_service

SINCE = datetime(2026, 8, 3, 5, 30, tzinfo=UTC)
UNTIL = datetime(2026, 10, 29, 17, 0, tzinfo=UTC)
SERVICES = ["cart", "checkout", "search"]


def _same(found: dora.DoraRow, expected: dm.Keys) -> None:
    assert found.deployments == expected.deployments
    assert found.finished == expected.finished
    assert found.failures == expected.failures
    assert found.deploys_per_day == pytest.approx(expected.deploys_per_day)
    for got, want in (
        (found.lead_time_median, expected.lead_time_median),
        (found.lead_time_p90, expected.lead_time_p90),
        (found.failure_rate, expected.failure_rate),
    ):
        assert (got is None) == (want is None)
        if want is not None:
            assert got == pytest.approx(want, abs=0.01)


@pytest.fixture
def records(db: Database) -> list:  # type: ignore[type-arg]
    with db.write() as session:
        teams.create_team(session, principal=SYSTEM, entry=TeamEntry(name="payments"))
    make_service(db, "cart", owner_team="payments")
    make_service(db, "checkout", owner_team="payments")
    make_service(db, "search")
    start = SINCE - timedelta(days=10)
    return random_changes(db, seed=11, count=240, services=SERVICES, start=start, days=110)


def test_by_service_and_overall_match_the_reference(db: Database, records: list) -> None:  # type: ignore[type-arg]
    with db.read() as session:
        report = dora.dora(session, since=SINCE, until=UNTIL, by="service")
    rows = {r.group: r for r in report.rows}
    assert sorted(rows) == SERVICES
    for name in SERVICES:
        facts = [f for s, f in records if s == name]
        _same(rows[name], dm.reference_keys(facts, since=SINCE, until=UNTIL))
    _same(report.total, dm.reference_keys([f for _, f in records], since=SINCE, until=UNTIL))
    assert report.total.failures > 0 and report.total.lead_times > 10


def test_by_team_week_and_month_match_the_reference(db: Database, records: list) -> None:  # type: ignore[type-arg]
    with db.read() as session:
        by_team = {r.group: r for r in dora.dora(session, since=SINCE, until=UNTIL, by="team").rows}
        weeks = dora.dora(session, since=SINCE, until=UNTIL, by="week").rows
        months = dora.dora(session, since=SINCE, until=UNTIL, by="month").rows
        only = dora.dora(session, since=SINCE, until=UNTIL, team="payments", by="service")
    owner = {"cart": "payments", "checkout": "payments", "search": dora.NO_TEAM}
    for team in ("payments", dora.NO_TEAM):
        facts = [f for s, f in records if owner[s] == team]
        _same(by_team[team], dm.reference_keys(facts, since=SINCE, until=UNTIL))
    assert sorted(r.group for r in only.rows) == ["cart", "checkout"]
    every = [f for _, f in records]
    # Weeks start on Monday; the first and last are cut to the period.
    assert weeks[0].group == "2026-08-03" and weeks[0].since == SINCE
    assert [w.group for w in weeks] == [label for label, _, _ in dora.buckets(SINCE, UNTIL, "week")]
    assert [m.group for m in months] == ["2026-08", "2026-09", "2026-10"]
    for row in [*weeks, *months]:
        _same(row, dm.reference_keys(every, since=row.since, until=row.until))


def test_bad_grouping_team_and_period_are_refused(db: Database) -> None:
    with db.read() as session:
        with pytest.raises(ValidationFailed) as bad_by:
            dora.dora(session, since=SINCE, until=UNTIL, by="year")
        with pytest.raises(ValidationFailed) as bad_team:
            dora.dora(session, since=SINCE, until=UNTIL, team="nobody")
        with pytest.raises(ValidationFailed) as bad_period:
            dora.dora(session, since=UNTIL, until=SINCE)
    assert (bad_by.value.field, bad_team.value.field, bad_period.value.field) == (
        "by",
        "team",
        "since",
    )
