"""Migration 0022: the counters of the incident, alert, change and action item lists and their
triggers, there at head on every table they cover (a later migration that rebuilt a table on
SQLite would drop its triggers without a word), and gone after the downgrade with the counters
of 0008 left as they were. SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from sqlalchemy import text

from opsloop.core import migrate
from opsloop.core.db import Database
from tests.alerts.test_alert_listing import _alert
from tests.incidents.helpers import declare
from tests.kept import counter
from tests.slo.test_event_rollups_migration import migrate_to, rows

OPS = ("insert", "update", "delete")


def _migration(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, migrate._VERSIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LISTS: dict[str, tuple[str, ...]] = _migration("0022_list_generations").COVERED
SLOS: dict[str, tuple[str, ...]] = _migration("0008_generations").COVERED


def triggers(db: Database) -> set[str]:
    if db.dialect == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    return {str(name) for (name,) in rows(db, query)}


def expected(db: Database, covered: dict[str, tuple[str, ...]]) -> set[str]:
    pairs = [(name, t) for name, tables in covered.items() for t in tables]
    if db.dialect == "postgresql":
        # 0022's and later: one moving the counter at commit, one on TRUNCATE; 0008's: one per
        # statement.
        ends = ("",) if covered is SLOS else ("", "_on_truncate")
        return {f"{t}_moves_{name}{end}" for name, t in pairs for end in ends}
    return {f"{t}_moves_{name}_on_{op}" for name, t in pairs for op in OPS}


def test_every_covered_table_has_its_triggers_at_head(db: Database) -> None:
    found = triggers(db)
    assert expected(db, LISTS) <= found
    assert expected(db, SLOS) <= found
    assert set(LISTS) == {"incidents", "alerts", "changes", "action_items"}


def test_the_counters_move_with_a_write_to_a_covered_table(db: Database) -> None:
    before = {name: counter(db, name) for name in LISTS}
    declare(db, title="Down")  # incidents, its services: both lists read incidents
    after = {name: counter(db, name) for name in LISTS}
    assert after["incidents"] != before["incidents"]
    assert after["action_items"] != before["action_items"]
    assert after["alerts"] == before["alerts"] and after["changes"] == before["changes"]


def test_downgrade_drops_the_triggers_and_counters_and_upgrade_restores_them(
    db: Database,
) -> None:
    with db.engine.begin() as conn:  # PostgreSQL's tests start with the counter rows emptied
        conn.execute(text("DELETE FROM generations"))
    declare(db, title="Down")
    slos_triggers = expected(db, SLOS)
    migrate_to(db, "0021", down=True)
    try:
        found = triggers(db)
        assert not expected(db, LISTS) & found
        assert slos_triggers <= found
        assert [name for (name,) in rows(db, "SELECT name FROM generations")] == []
        declare(db, title="Unseen")  # no trigger left to bring a counter row back
        assert all(counter(db, name) is None for name in LISTS)
    finally:
        migrate_to(db, "head", down=False)
    assert expected(db, LISTS) <= triggers(db)
    assert {name: counter(db, name) for name in LISTS} == dict.fromkeys(LISTS, 1)
    declare(db, title="Seen")
    assert counter(db, "incidents") > 1 and counter(db, "action_items") > 1
    assert counter(db, "alerts") == 1 and counter(db, "changes") == 1


def test_on_postgresql_a_writer_takes_the_counter_only_when_it_commits(db: Database) -> None:
    """Two writers of alerts, each locking rows statement by statement, in opposite orders:
    the second's first statement must not wait for the counter the first moved (it would wait
    for good, and the first then for its row: a deadlock)."""
    if db.dialect != "postgresql":
        return
    with db.write() as session:
        session.add_all([_alert(1), _alert(2)])
    before = counter(db, "alerts")
    first, second = db.engine.connect(), db.engine.connect()
    try:
        first.execute(text("UPDATE alerts SET name = 'a' WHERE id = 1"))
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        second.execute(text("UPDATE alerts SET name = 'b' WHERE id = 2"))  # no wait here
        second.commit()
        first.execute(text("UPDATE alerts SET name = 'a' WHERE id = 2"))
        first.commit()
    finally:
        first.close()
        second.close()
    assert before is not None and counter(db, "alerts") == before + 2
