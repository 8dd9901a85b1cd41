"""Minute buckets with hour and day roll-ups: any order of pushes (late, resent, across hours
and days) keeps the roll-ups equal to their minutes, and every window sum is exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, select

from opsloop.core.db import Database
from opsloop.slo import event_sums, events
from opsloop.slo.events import MinuteCount
from opsloop.slo.math import EventCounts
from opsloop.slo.models import SLO, EventBucket, EventDay, EventHour
from opsloop.slo.sources import Source
from opsloop.slo.windows import ALERT_WINDOWS

#: A midnight: offsets 1440 and 2880 are day boundaries, multiples of 60 hour boundaries.
BASE = datetime(2026, 11, 29, tzinfo=UTC)
SPAN_MINUTES = 3 * 1440
MINUTE = timedelta(minutes=1)
EDGES = [0, 1, 59, 60, 61, 719, 720, 721, 1439, 1440, 1441, 2879, 2880, 2881, SPAN_MINUTES - 1]


def make_slos(db: Database, count: int) -> list[int]:
    with db.write() as session:
        slos = [
            SLO(
                service="svc",
                name=f"slo-{index}",
                source=Source.push,
                spec="",
                objective=0.99,
                owner="",
                period_started_at=BASE,
                policy_state="no_data",
                policy_state_since=BASE,
                created_at=BASE,
                updated_at=BASE,
            )
            for index in range(count)
        ]
        session.add_all(slos)
        session.flush()
        return [slo.id for slo in slos]


def push(db: Database, batches: dict[int, list[tuple[datetime, int, int]]]) -> None:
    with db.write(audited=False) as session:
        events.ingest(
            session,
            {
                slo: [MinuteCount(m, good, total) for m, good, total in b]
                for slo, b in batches.items()
            },
        )


def stored_minutes(db: Database) -> dict[tuple[int, datetime], tuple[int, int]]:
    with db.read() as session:
        rows = session.execute(
            select(EventBucket.slo_id, EventBucket.minute, EventBucket.good, EventBucket.total)
        )
        return {(slo, minute): (good, total) for slo, minute, good, total in rows}


def brute_force(
    minutes: dict[tuple[int, datetime], tuple[int, int]],
    slo_id: int,
    start: datetime,
    end: datetime,
) -> EventCounts:
    inside = [c for (slo, m), c in minutes.items() if slo == slo_id and start <= m < end]
    return EventCounts(good=sum(g for g, _ in inside), total=sum(t for _, t in inside))


def rollups_match_minutes(db: Database) -> None:
    minutes = stored_minutes(db)
    for model, key, cut in (
        (EventHour, "hour", lambda m: m.replace(minute=0)),
        (EventDay, "day", lambda m: m.replace(hour=0, minute=0)),
    ):
        expected: dict[tuple[int, datetime], tuple[int, int]] = {}
        for (slo, minute), (good, total) in minutes.items():
            g, t = expected.get((slo, cut(minute)), (0, 0))
            expected[(slo, cut(minute))] = (g + good, t + total)
        with db.read() as session:
            rows = session.execute(
                select(model.slo_id, getattr(model, key), model.good, model.total)
            )
            got = {(slo, at): (good, total) for slo, at, good, total in rows}
        # A roll-up row whose minutes were all replaced by zeros stays, holding zeros.
        assert {k: v for k, v in got.items() if v != (0, 0)} == {
            k: v for k, v in expected.items() if v != (0, 0)
        }


# ------------------------------------------------------------------------------------------
# Property: random pushes, random windows


minute_offsets = st.one_of(st.integers(0, SPAN_MINUTES - 1), st.sampled_from(EDGES))
counts = st.integers(0, 1000).flatmap(
    lambda total: st.tuples(st.integers(0, total), st.just(total))
)
batch = st.dictionaries(minute_offsets, counts, min_size=1, max_size=8)
pushes = st.lists(
    st.tuples(st.integers(0, 1), batch).map(lambda p: {p[0]: p[1]})
    | st.tuples(batch, batch).map(lambda p: {0: p[0], 1: p[1]}),
    min_size=1,
    max_size=6,
)
# Window edges anywhere, to the second, from an hour before the data to an hour after it, and
# on the hour and day boundaries.
moments = st.integers(-3600, SPAN_MINUTES * 60 + 3600).map(lambda s: BASE + timedelta(seconds=s))
edges = st.sampled_from(EDGES).map(lambda m: BASE + m * MINUTE)
boundary_sets = st.lists(moments | edges, min_size=2, max_size=9)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pushed=pushes, boundaries=boundary_sets)
def test_window_sums_equal_the_sum_of_their_minutes(
    db: Database, pushed: list[dict[int, dict[int, tuple[int, int]]]], boundaries: list[datetime]
) -> None:
    with db.write() as session:
        for model in (EventBucket, EventHour, EventDay):
            session.execute(delete(model))
    ids = _slos(db)
    for batches in pushed:
        push(
            db,
            {
                ids[slo]: [(BASE + offset * MINUTE, g, t) for offset, (g, t) in b.items()]
                for slo, b in batches.items()
            },
        )
    rollups_match_minutes(db)
    minutes = stored_minutes(db)
    # A resent minute replaces the earlier counts: the last push of a minute wins.
    latest: dict[tuple[int, datetime], tuple[int, int]] = {}
    for batches in pushed:
        for slo, b in batches.items():
            for offset, found in b.items():
                latest[(ids[slo], BASE + offset * MINUTE)] = found
    assert minutes == latest
    end, *starts = boundaries
    with db.read() as session:
        sums = events.window_counts(session, ids, end, starts)
        before = event_sums.counts_before(session, ids, sorted(boundaries))
    for slo_id in ids:
        assert sums[slo_id] == [brute_force(minutes, slo_id, start, end) for start in starts]
        ordered = sorted(boundaries)
        for i in range(len(ordered)):
            for j in range(i, len(ordered)):
                good = before[slo_id][j][0] - before[slo_id][i][0]
                total = before[slo_id][j][1] - before[slo_id][i][1]
                want = brute_force(minutes, slo_id, ordered[i], ordered[j])
                assert (good, total) == (want.good, want.total)


def _slos(db: Database) -> list[int]:
    """The two SLOs of the test, made by its first example and reused by the others."""
    with db.read() as session:
        found = list(session.scalars(select(SLO.id).order_by(SLO.id)))
    return found if len(found) == 2 else make_slos(db, 2)


# ------------------------------------------------------------------------------------------
# Worked by hand


def at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def test_sums_across_midnight_by_hand(db: Database) -> None:
    (slo_id,) = make_slos(db, 1)
    # Late minutes first, then the minutes before them, then a resend lowering one of them.
    push(db, {slo_id: [(at(30, 0, 0), 5, 10), (at(30, 0, 1), 7, 10)]})
    push(db, {slo_id: [(at(29, 23, 58), 1, 2), (at(29, 23, 59), 3, 4), (at(29, 12, 0), 9, 9)]})
    push(db, {slo_id: [(at(29, 23, 59), 2, 4)]})
    with db.read() as session:
        days = session.execute(select(EventDay.day, EventDay.good, EventDay.total)).all()
        hours = session.execute(select(EventHour.hour, EventHour.good, EventHour.total)).all()
        sums = events.window_counts(
            session,
            [slo_id],
            at(30, 0, 1),
            [
                at(29, 23, 59),  # 23:59 and 00:00
                at(29, 23, 58, 30),  # from 23:59: a bucket counts from its minute's start
                at(29, 0, 0),  # the whole 29th and 00:00
                at(30, 0, 1),  # empty
                at(30, 0, 2),  # after the end: empty
            ],
        )
        whole = events.window_counts(session, [slo_id], at(30, 0, 1, 1), [at(28, 0, 0)])
    assert sorted(days) == [(at(29, 0, 0), 1 + 2 + 9, 2 + 4 + 9), (at(30, 0, 0), 12, 20)]
    assert sorted(hours) == [
        (at(29, 12, 0), 9, 9),
        (at(29, 23, 0), 1 + 2, 2 + 4),
        (at(30, 0, 0), 12, 20),
    ]
    assert sums[slo_id] == [
        EventCounts(good=2 + 5, total=4 + 10),
        EventCounts(good=2 + 5, total=4 + 10),
        EventCounts(good=12 + 5, total=15 + 10),
        EventCounts(good=0, total=0),
        EventCounts(good=0, total=0),
    ]
    # An end 1 s into 00:01 includes that minute.
    assert whole[slo_id] == [EventCounts(good=12 + 12, total=15 + 20)]


def test_every_slo_asked_for_gets_sums_even_without_counts(db: Database) -> None:
    ids = make_slos(db, 2)
    push(db, {ids[0]: [(at(29, 10, 0), 1, 1)]})
    with db.read() as session:
        sums = events.window_counts(session, [*ids, 999], at(29, 11, 0), [at(29, 10, 0)])
    assert sums == {ids[0]: [EventCounts(1, 1)], ids[1]: [EventCounts(0, 0)]}


def test_a_push_is_a_few_statements_however_many_slos_and_minutes(db: Database) -> None:
    ids = make_slos(db, 3)
    statements: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    push(db, {slo: [(at(29, 0, 0) + m * MINUTE, 1, 2) for m in range(0, 600, 7)] for slo in ids})
    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        # Late and resent minutes of three SLOs, in three hours and two days.
        push(
            db,
            {slo: [(at(28, 23, 0) + m * MINUTE, 2, 2) for m in range(0, 600, 3)] for slo in ids},
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)
    # The SLO row locks (PostgreSQL), the stored counts, then one upsert per table.
    assert len(statements) <= (5 if db.dialect == "postgresql" else 4), statements
    rollups_match_minutes(db)
    with db.read() as session:
        total = session.scalar(select(func.sum(EventDay.total)))
    assert total == sum(b for (_, _), (_, b) in stored_minutes(db).items())


def test_evaluation_windows_are_exact(db: Database) -> None:
    """The windows of an evaluation (all alert windows and a 30-day period, all ending at
    ``now``) share segments and days: every sum is still exact, at ordinary and awkward ends."""
    ids = make_slos(db, 2)
    nows = [at(29, 9, 1), at(29, 12, 30, 30), at(30, 23, 59)]
    windows = [*ALERT_WINDOWS, timedelta(days=30)]
    near: set[datetime] = set()
    for now in nows:
        for boundary in [now, *(now - window for window in windows)]:
            minute = boundary.replace(second=0)
            near.update(minute + k * MINUTE for k in range(-100, 101, 3))
            near.update(minute + k * timedelta(hours=1) for k in range(-30, 31, 5))
    for slo in ids:
        push(db, {slo: [(m, (m.minute + slo) % 5, 5 + m.hour) for m in sorted(near)]})
    minutes = stored_minutes(db)
    for now in nows:
        starts = [now - window for window in windows]
        with db.read() as session:
            sums = events.window_counts(session, ids, now, starts)
        for slo in ids:
            assert sums[slo] == [brute_force(minutes, slo, start, now) for start in starts]


def test_segments_close_together_are_read_in_one_scan() -> None:
    # The segments of an evaluation at 12:33: the minutes of the last half hour and the hour
    # before are one scan; those 27 minutes after 10:33, more than 15 minutes off, another.
    segments = [
        ("minute", at(1, 10, 33), at(1, 11, 0)),
        ("hour", at(1, 7, 0), at(1, 11, 0)),
        ("minute", at(1, 12, 3), at(1, 12, 28)),
        ("minute", at(1, 11, 33), at(1, 12, 0)),
        ("day", at(1, 0, 0), at(2, 0, 0)),
        ("minute", at(1, 12, 33), at(1, 13, 0)),
        ("hour", at(1, 11, 0), at(1, 12, 0)),
        ("minute", at(1, 12, 0), at(1, 12, 3)),
        ("hour", at(2, 13, 0), at(3, 0, 0)),
    ]
    assert event_sums._clusters(segments) == ((4,), (1, 6), (8,), (0,), (3, 7, 2, 5))
