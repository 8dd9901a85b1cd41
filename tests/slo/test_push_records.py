"""One push record per push: its coverage as compact JSON, and migration 0021, which turned the
rows of one SLO each into such records and back without losing any."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import bindparam, select, text

from opsloop.core.db import Database, UTCDateTime
from opsloop.slo.models import EventPush
from opsloop.slo.push_records import Covered, decode, encode
from tests.slo.test_event_rollups import make_slos
from tests.slo.test_event_rollups_migration import migrate_to, rows

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_slos_given_the_same_minutes_share_one_entry() -> None:
    covered = [
        Covered(3, 1, AT, AT),
        Covered(4, 1, AT, AT),
        Covered(5, 2, AT - timedelta(minutes=1), AT),
        Covered(9, 1, AT, AT),
    ]
    stored = encode(covered)
    assert stored == (
        '[{"first":"2026-11-02T09:00:00+00:00","last":"2026-11-02T09:00:00+00:00",'
        '"minutes":1,"slos":[3,4,9]},'
        '{"first":"2026-11-02T08:59:00+00:00","last":"2026-11-02T09:00:00+00:00",'
        '"minutes":2,"slos":[5]}]'
    )
    assert decode(stored) == covered


def test_minutes_in_other_time_zones_are_recorded_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    stored = encode([Covered(1, 1, AT.astimezone(plus_two), AT.astimezone(plus_two))])
    assert "+02:00" not in stored
    [back] = decode(stored)
    assert back.first_minute == AT and back.first_minute.utcoffset() == timedelta(0)


OLD_ROWS = [  # slo index, request id, minutes, first minute's age in minutes
    (0, "r1", 1, 5),
    (1, "r1", 3, 7),
    (0, "r2", 2, 2),
]


def test_0021_turns_each_row_into_a_record_and_back(db: Database) -> None:
    slo_ids = make_slos(db, 2)
    migrate_to(db, "0021-1", down=True)
    try:
        insert = text(
            "INSERT INTO slo_event_pushes (slo_id, received_at, actor, request_id, minutes, "
            "first_minute, last_minute) VALUES (:slo_id, :at, 'pusher', :request_id, "
            ":minutes, :first, :last)"
        ).bindparams(
            bindparam("at", type_=UTCDateTime()),
            bindparam("first", type_=UTCDateTime()),
            bindparam("last", type_=UTCDateTime()),
        )
        with db.engine.begin() as conn:
            for index, request_id, minutes, age in OLD_ROWS:
                first = AT - timedelta(minutes=age)
                conn.execute(
                    insert,
                    {
                        "slo_id": slo_ids[index],
                        "at": AT,
                        "request_id": request_id,
                        "minutes": minutes,
                        "first": first,
                        "last": first + timedelta(minutes=minutes - 1),
                    },
                )
        migrate_to(db, "0021", down=False)
        with db.read() as session:
            records = session.scalars(select(EventPush).order_by(EventPush.id)).all()
        assert [
            (r.received_at, r.actor, r.request_id, r.minutes, r.first_minute, r.last_minute)
            for r in records
        ] == [
            (AT, "pusher", request_id, minutes, first, first + timedelta(minutes=minutes - 1))
            for _, request_id, minutes, age in OLD_ROWS
            for first in [AT - timedelta(minutes=age)]
        ]
        assert [decode(r.slos) for r in records] == [
            [Covered(slo_ids[index], minutes, r.first_minute, r.last_minute)]
            for (index, _, minutes, _), r in zip(OLD_ROWS, records, strict=True)
        ]
        # A record written since, covering both SLOs, gives each its own row again.
        covered = [Covered(slo_ids[0], 1, AT, AT), Covered(slo_ids[1], 2, AT, AT)]
        with db.write(audited=False) as session:
            session.add(
                EventPush(
                    received_at=AT,
                    actor="bulk",
                    request_id="r3",
                    minutes=3,
                    first_minute=AT,
                    last_minute=AT,
                    slos=encode(covered),
                )
            )
        migrate_to(db, "0021-1", down=True)
        old = rows(
            db,
            "SELECT slo_id, actor, request_id, minutes FROM slo_event_pushes ORDER BY id",
        )
        assert old == [
            (slo_ids[index], "pusher", request_id, minutes)
            for index, request_id, minutes, _ in OLD_ROWS
        ] + [(slo_ids[0], "bulk", "r3", 1), (slo_ids[1], "bulk", "r3", 2)]
        times = text("SELECT first_minute, last_minute FROM slo_event_pushes ORDER BY id").columns(
            first_minute=UTCDateTime(), last_minute=UTCDateTime()
        )
        with db.engine.connect() as conn:
            spans = [tuple(r) for r in conn.execute(times)]
        assert spans[0] == (AT - timedelta(minutes=5), AT - timedelta(minutes=5))
        assert spans[1] == (AT - timedelta(minutes=7), AT - timedelta(minutes=5))
        assert spans[-1] == (AT, AT)
    finally:
        migrate_to(db, "head", down=False)
