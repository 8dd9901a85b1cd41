"""Migration 0023: the service list's counter and its triggers on services and teams, there at
head, moved by a write to either table (and not by others), gone after the downgrade with
0022's counters left as they were. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from opsloop.core.db import Database
from tests.core.test_list_generations import LISTS, _migration, expected, triggers
from tests.kept import counter, write
from tests.slo.test_event_rollups_migration import migrate_to

SERVICES: dict[str, tuple[str, ...]] = _migration("0023_service_list_generation").COVERED


def _team_and_service(db: Database) -> None:
    stamps = "'2026-12-01 00:00:00', '2026-12-01 00:00:00'"
    write(
        db,
        "INSERT INTO teams (name, display_name, description, chat_channel, email, origin,"
        f" origin_source, created_at, updated_at) VALUES ('team-a', 'A', '', '', '', 'explicit',"
        f" '', {stamps})",
    )
    write(
        db,
        "INSERT INTO services (name, display_name, description, tier, lifecycle, links, labels,"
        " origin, origin_source, created_at, updated_at) VALUES ('alpha', 'Alpha', '', 2,"
        f" 'production', '[]', '{{}}', 'explicit', '', {stamps})",
    )


def test_the_counter_moves_with_services_and_teams_only(db: Database) -> None:
    assert SERVICES == {"services": ("services", "teams")}
    assert expected(db, SERVICES) <= triggers(db)
    _team_and_service(db)
    before = counter(db, "services")
    assert before is not None
    write(db, "UPDATE services SET description = 'changed' WHERE name = 'alpha'")
    assert counter(db, "services") == before + 1
    write(db, "UPDATE teams SET display_name = 'A' WHERE name = 'team-a'")
    assert counter(db, "services") == before + 2
    write(db, "INSERT INTO generations (name, value) VALUES ('unrelated', 1)")
    assert counter(db, "services") == before + 2


def test_downgrade_drops_the_counter_and_upgrade_restores_it(db: Database) -> None:
    with db.engine.begin() as conn:  # PostgreSQL's tests start with the counter rows emptied
        conn.execute(text("DELETE FROM generations"))
    migrate_to(db, "0022", down=True)
    try:
        found = triggers(db)
        assert not expected(db, SERVICES) & found
        assert expected(db, LISTS) <= found
        _team_and_service(db)
        assert counter(db, "services") is None  # no trigger left to bring the row back
    finally:
        migrate_to(db, "head", down=False)
    assert expected(db, SERVICES) <= triggers(db)
    assert counter(db, "services") == 1
    write(db, "DELETE FROM services WHERE name = 'alpha'")
    assert counter(db, "services") == 2
