"""Migration 0009 puts every service that SLOs already name in the catalog, implicit and
unowned; its downgrade drops the catalog."""

from __future__ import annotations

from sqlalchemy import inspect

from opsloop.core.db import Database
from opsloop.services import service as catalog
from tests.services.helpers import make_slo
from tests.slo.test_event_rollups_migration import migrate_to, rows


def test_upgrade_backfills_one_implicit_service_per_slo_service(db: Database) -> None:
    make_slo(db, "checkout")
    make_slo(db, "checkout", "latency")
    make_slo(db, "search")
    migrate_to(db, "0008", down=True)
    assert "services" not in inspect(db.engine).get_table_names()
    assert rows(db, "SELECT DISTINCT service FROM slos ORDER BY service") == [
        ("checkout",),
        ("search",),
    ]
    migrate_to(db, "head", down=False)
    with db.read() as session:
        found = catalog.list_services(session)
    assert [(s.name, s.origin, s.origin_source, s.owner_team, s.tier) for s in found] == [
        ("checkout", "implicit", "slo", None, None),
        ("search", "implicit", "slo", None, None),
    ]
    assert found[0].lifecycle == "production"
    assert found[0].links == () and found[0].labels == {}
    assert found[0].created_at.utcoffset() is not None


def test_upgrade_of_an_empty_database_adds_no_service(db: Database) -> None:
    migrate_to(db, "0008", down=True)
    migrate_to(db, "head", down=False)
    assert rows(db, "SELECT count(*) FROM services") == [(0,)]
