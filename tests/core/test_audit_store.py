"""The audit trail in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from opsloop.core.audit import service as audit
from opsloop.core.audit import verification
from opsloop.core.audit.chain import Verification
from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import SYSTEM, Principal, Role
from opsloop.core.db import Database
from opsloop.core.errors import Conflict
from tests.helpers import append_only_guard_dropped, make_user


def _seed(db: Database, n: int) -> None:
    for i in range(n):
        make_user(db, f"user{i}", Role.viewer)


def _verify(db: Database) -> Verification:
    with db.read() as session:
        return verification.verify_chain(session)


def test_writes_leave_linked_records(db: Database) -> None:
    _seed(db, 3)
    with db.read() as session:
        rows, cursor = audit.page(session, flt=audit.AuditFilter(), limit=10)
    assert [r.seq for r in rows] == [1, 2, 3] and cursor is None
    assert rows[0].action == "user.create" and rows[0].actor == "system"
    assert rows[1].prev_hash == rows[0].hash
    assert audit.to_dict(rows[2])["changes"]["username"] == {"before": None, "after": "user2"}
    assert _verify(db).ok


def test_append_only_guard_refuses_update_and_delete(db: Database) -> None:
    _seed(db, 1)
    statements = ["UPDATE audit_records SET actor = 'x'", "DELETE FROM audit_records"]
    if db.dialect == "postgresql":  # SQLite has no TRUNCATE
        statements.append("TRUNCATE audit_records")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    assert _verify(db).ok and _verify(db).checked == 1


def test_dropped_guard_is_back_even_when_the_tampering_fails(db: Database) -> None:
    _seed(db, 1)
    with pytest.raises(DBAPIError), append_only_guard_dropped(db), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM no_such_table"))
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records"))


@pytest.mark.parametrize(
    ("statement", "bad_seq"),
    [
        ("UPDATE audit_records SET actor = 'mallory' WHERE seq = 3", 3),
        ("UPDATE audit_records SET changes = '{}' WHERE seq = 2", 2),
        ("DELETE FROM audit_records WHERE seq = 4", 4),
        ("UPDATE audit_records SET seq = seq + 100 WHERE seq = 2", 2),
    ],
)
def test_tampering_in_the_database_is_detected(db: Database, statement: str, bad_seq: int) -> None:
    _seed(db, 5)
    with append_only_guard_dropped(db), db.engine.begin() as conn:
        conn.execute(text(statement))
    result = _verify(db)
    assert not result.ok
    assert result.first_bad_seq == bad_seq


def test_a_failed_write_leaves_no_record(db: Database) -> None:
    _seed(db, 1)
    with pytest.raises(Conflict), db.write() as session:
        auth.create_user(session, principal=SYSTEM, username="user0", role=Role.viewer)
    with db.read() as session:
        assert audit.count(session) == 1


def test_record_outside_a_write_transaction_is_refused(db: Database) -> None:
    with pytest.raises(RuntimeError, match="write transaction"), db.read() as session:
        audit.record(session, principal=SYSTEM, action="x", entity_type="y", entity_id=1)


def test_filters_and_pagination(db: Database) -> None:
    _seed(db, 7)
    with db.write() as session:
        auth.update_user(session, principal=SYSTEM, username="user3", role=Role.admin)
    with db.read() as session:
        first, cursor = audit.page(session, flt=audit.AuditFilter(action="user.create"), limit=4)
        assert [r.seq for r in first] == [1, 2, 3, 4] and cursor == 4
        rest, cursor = audit.page(
            session, flt=audit.AuditFilter(action="user.create"), after_seq=4, limit=4
        )
        assert [r.seq for r in rest] == [5, 6, 7] and cursor is None
        updates, _ = audit.page(
            session, flt=audit.AuditFilter(entity_type="user", action="user.update")
        )
        assert len(updates) == 1 and audit.to_dict(updates[0])["changes"] == {
            "role": {"before": "viewer", "after": "admin"}
        }


def test_concurrent_writers_keep_the_chain_linear(db: Database) -> None:
    threads, per_thread = 8, 6
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def writer(n: int) -> None:
        principal = Principal(actor=f"writer{n}", role=Role.admin)
        try:
            barrier.wait()
            for i in range(per_thread):
                with db.write() as session:
                    auth.create_user(
                        session, principal=principal, username=f"t{n}-{i}", role=Role.viewer
                    )
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    result = _verify(db)
    assert result.ok, result
    assert result.checked == threads * per_thread
    with db.read() as session:
        actors = {r.actor for r in audit.iterate(session, flt=audit.AuditFilter())}
    assert actors == {f"writer{n}" for n in range(threads)}
