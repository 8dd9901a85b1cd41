"""Migration 0024: the error-budget policies' counter and its triggers, there at head, moved by
a write to the policies (and not by others), gone after the downgrade with 0023's counter left
as it was. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from opsloop.core.db import Database
from tests.core.test_list_generations import _migration, expected, triggers
from tests.kept import counter, write
from tests.slo.test_event_rollups_migration import migrate_to

POLICIES: dict[str, tuple[str, ...]] = _migration("0024_budget_policy_generation").COVERED
SERVICES: dict[str, tuple[str, ...]] = _migration("0023_service_list_generation").COVERED
INSERT = (
    "INSERT INTO slo_service_policies (service, tiers, updated_at)"
    " VALUES ('alpha', '[]', '2026-12-01 00:00:00')"
)


def test_the_counter_moves_with_the_policies_only(db: Database) -> None:
    assert POLICIES == {"budget_policies": ("slo_service_policies",)}
    assert expected(db, POLICIES) <= triggers(db)
    write(db, INSERT)
    before = counter(db, "budget_policies")
    assert before is not None
    write(db, "UPDATE slo_service_policies SET tiers = '[{}]' WHERE service = 'alpha'")
    assert counter(db, "budget_policies") == before + 1
    write(db, "INSERT INTO generations (name, value) VALUES ('unrelated', 1)")
    assert counter(db, "budget_policies") == before + 1
    write(db, "DELETE FROM slo_service_policies WHERE service = 'alpha'")
    assert counter(db, "budget_policies") == before + 2


def test_downgrade_drops_the_counter_and_upgrade_restores_it(db: Database) -> None:
    with db.engine.begin() as conn:  # PostgreSQL's tests start with the counter rows emptied
        conn.execute(text("DELETE FROM generations"))
    migrate_to(db, "0023", down=True)
    try:
        found = triggers(db)
        assert not expected(db, POLICIES) & found
        assert expected(db, SERVICES) <= found
        write(db, INSERT)
        assert counter(db, "budget_policies") is None  # no trigger left to bring the row back
    finally:
        migrate_to(db, "head", down=False)
    assert expected(db, POLICIES) <= triggers(db)
    assert counter(db, "budget_policies") == 1
    write(db, "DELETE FROM slo_service_policies WHERE service = 'alpha'")
    assert counter(db, "budget_policies") == 2
