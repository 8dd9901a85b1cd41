"""Migration 0007 fills the hour and day roll-ups from stored minutes, and its downgrade gives
the running totals back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import bindparam, text

from opsloop.core import migrate
from opsloop.core.db import Database, UTCDateTime
from opsloop.slo import events
from opsloop.slo.math import EventCounts
from tests.slo.test_event_rollups import make_slos

# Either side of midnight, and an hour before.
MINUTES = [
    (datetime(2026, 11, 29, 22, 59, tzinfo=UTC), 1, 2),
    (datetime(2026, 11, 29, 23, 0, tzinfo=UTC), 3, 4),
    (datetime(2026, 11, 29, 23, 59, tzinfo=UTC), 5, 6),
    (datetime(2026, 11, 30, 0, 0, tzinfo=UTC), 7, 8),
    (datetime(2026, 11, 30, 0, 1, tzinfo=UTC), 9, 10),
]


def migrate_to(db: Database, revision: str, *, down: bool) -> None:
    cfg = migrate._config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_upgrade_fills_the_rollups_and_downgrade_restores_running_totals(db: Database) -> None:
    slo_ids = make_slos(db, 2)
    migrate_to(db, "0006", down=True)
    try:
        insert = text(
            "INSERT INTO slo_event_buckets (slo_id, minute, good, total, cum_good, cum_total) "
            "VALUES (:slo_id, :minute, :good, :total, 0, 0)"
        ).bindparams(bindparam("minute", type_=UTCDateTime()))
        with db.engine.begin() as conn:
            for slo_id in slo_ids:
                for minute, good, total in MINUTES:
                    conn.execute(
                        insert,
                        {
                            "slo_id": slo_id,
                            "minute": minute,
                            "good": good * slo_id,
                            "total": total * slo_id,
                        },
                    )
        migrate_to(db, "head", down=False)
        hours = rows(db, "SELECT slo_id, good, total FROM slo_event_hours ORDER BY slo_id, hour")
        days = rows(db, "SELECT slo_id, good, total FROM slo_event_days ORDER BY slo_id, day")
        for slo_id in slo_ids:
            k = slo_id
            assert [r[1:] for r in hours if r[0] == slo_id] == [
                (1 * k, 2 * k),
                (8 * k, 10 * k),
                (16 * k, 18 * k),
            ]
            assert [r[1:] for r in days if r[0] == slo_id] == [(9 * k, 12 * k), (16 * k, 18 * k)]
        with db.read() as session:
            sums = events.window_counts(
                session,
                slo_ids,
                MINUTES[-1][0],
                [MINUTES[0][0], MINUTES[0][0] + timedelta(seconds=1)],
            )
        assert sums[slo_ids[0]] == [EventCounts(16, 20), EventCounts(15, 18)]
        migrate_to(db, "0006", down=True)
        running = rows(
            db,
            "SELECT slo_id, cum_good, cum_total FROM slo_event_buckets ORDER BY slo_id, minute",
        )
        for slo_id in slo_ids:
            k = slo_id
            assert [r[1:] for r in running if r[0] == slo_id] == [
                (1 * k, 2 * k),
                (4 * k, 6 * k),
                (9 * k, 12 * k),
                (16 * k, 20 * k),
                (25 * k, 30 * k),
            ]
    finally:
        migrate_to(db, "head", down=False)
