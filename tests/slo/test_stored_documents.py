"""A stored spec's JSON copy (``slos.spec_documents``): written with every spec, filled in by
migration 0025, read by the first evaluation instead of the YAML, and never used when it is not
the copy of the spec beside it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.slo import evaluation
from opsloop.slo import service as slo_service
from opsloop.slo import spec as spec_package
from opsloop.slo.models import SLO
from opsloop.slo.spec import parse_documents, stored_documents, to_openslo, yaml_io
from tests.slo.test_event_rollups_migration import migrate_to

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _stored_specs() -> list[str]:
    specs = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        specs += [to_openslo([d]) for d in parse_documents(path.read_text(), path.name)]
    return specs


@pytest.mark.parametrize("spec", _stored_specs())
def test_the_copy_reads_to_the_same_definition_as_the_yaml(spec: str) -> None:
    copy = stored_documents.documents_json(spec)
    assert copy is not None
    assert stored_documents.load(spec, copy) == yaml_io.load_own_documents(spec, "stored")
    from_copy = parse_documents(spec, own=True, documents=stored_documents.load(spec, copy))
    assert from_copy == parse_documents(spec, own=True)


def test_a_copy_of_another_text_is_not_read() -> None:
    first, second = _stored_specs()[:2]
    copy = stored_documents.documents_json(first)
    assert stored_documents.load(second, copy) is None
    assert stored_documents.load(first, copy) is not None
    assert stored_documents.load(first, None) is None
    assert stored_documents.load(first, "{not json") is None
    slo_service.parse_stored.cache_clear()
    assert slo_service.parse_stored(second, copy) == parse_documents(second, own=True)[0]


def test_documents_json_cannot_keep_are_not_copied() -> None:
    assert stored_documents.documents_json("a: 1\n1: integer key\n") is None
    assert stored_documents.documents_json("at: 2026-12-07\n") is None
    assert stored_documents.documents_json("x: .inf\n") is None
    assert stored_documents.documents_json("a: [1, 2.5, true, null, text]\n") is not None


def _apply(db: Database, objective: float) -> int:
    defn = slo_service.pushed_definition(service="checkout", name="api", objective=objective)
    with db.write() as session:
        return slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id


def _stored(db: Database) -> dict[int, tuple[str, str | None]]:
    with db.read() as session:
        query = select(SLO.id, SLO.spec, SLO.spec_documents)
        return {slo_id: (spec, copy) for slo_id, spec, copy in session.execute(query)}


def test_every_stored_spec_is_written_with_its_copy(db: Database) -> None:
    slo_id = _apply(db, 99.0)
    spec, copy = _stored(db)[slo_id]
    assert copy == stored_documents.documents_json(spec)
    _apply(db, 99.5)
    changed, copy = _stored(db)[slo_id]
    assert changed != spec and copy == stored_documents.documents_json(changed)


def test_the_first_evaluation_after_a_start_reads_no_yaml(
    db: Database, frozen_clock: clock.FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_clock.current = NOW
    ids = [_apply(db, 99.0)]
    defn = slo_service.pushed_definition(service="payments", name="api", objective=99.9)
    with db.write() as session:
        ids.append(slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id)
    read_yaml: list[str] = []
    real = yaml_io.load_own_documents

    def counted(spec: str, source: str) -> list[object]:
        read_yaml.append(spec)
        return real(spec, source)

    monkeypatch.setattr(spec_package, "load_own_documents", counted)
    slo_service.parse_stored.cache_clear()  # as in a new process
    statuses = evaluation.evaluate(db, now=NOW, persist=False)
    assert sorted(statuses) == sorted(ids) and read_yaml == []
    # A copy that is not its spec's is passed over for the YAML, which gives the definition.
    with db.write() as session:
        session.execute(update(SLO).where(SLO.id == ids[0]).values(spec_documents="{}"))
    slo_service.parse_stored.cache_clear()
    again = evaluation.evaluate(db, now=NOW, persist=False)
    assert len(read_yaml) == 1
    assert {i: s.to_json() for i, s in again.items()} == {
        i: s.to_json() for i, s in statuses.items()
    }


def test_migration_0025_fills_the_copies_the_way_opsloop_writes_them(db: Database) -> None:
    first = _apply(db, 99.0)
    defn = slo_service.pushed_definition(service="payments", name="api", objective=99.9)
    with db.write() as session:
        second = slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id
    written = _stored(db)
    migrate_to(db, "0024", down=True)
    try:
        with db.engine.connect() as conn:
            columns = conn.execute(text("SELECT * FROM slos")).keys()
        assert "spec_documents" not in columns
    finally:
        migrate_to(db, "head", down=False)
    assert _stored(db) == written
    assert all(copy is not None for _, copy in written.values())
    assert sorted(written) == sorted([first, second])
