"""Appending many audit records in one transaction: the head is read once per transaction and
never reused after the transaction (or a savepoint in it) ends."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opsloop.core.audit import service as audit
from opsloop.core.audit import verification
from opsloop.core.audit.chain import Verification
from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.db import AUDITED_OPTION, WRITE_OPTION, Database
from tests.helpers import statements_run

#: The statement that reads the chain head.
HEAD_READ = "FROM audit_records ORDER BY audit_records.seq DESC"


class Rollback(Exception):
    pass


def _entries(n: int, tag: str) -> list[audit.Entry]:
    return [
        audit.Entry(action=f"test.{tag}", entity_type="thing", entity_id=i, after={"n": i})
        for i in range(n)
    ]


def _one(session: Session, tag: str) -> None:
    audit.record(session, principal=SYSTEM, action=f"test.{tag}", entity_type="thing", entity_id=0)


def _verify(db: Database) -> Verification:
    with db.read() as session:
        return verification.verify_chain(session, full=True)


def _actions(db: Database) -> list[str]:
    with db.read() as session:
        return [r.action for r in audit.iterate(session, flt=audit.AuditFilter())]


def _reused_write_session(db: Database) -> Session:
    # One Session object for several transactions, as a caller holding a session would use it:
    # Database.write() makes a new Session each time, which would hide a cache left behind.
    return Session(db.engine.execution_options(**{WRITE_OPTION: True, AUDITED_OPTION: True}))


def test_bulk_appends_around_a_rolled_back_transaction_keep_the_chain_verifiable(
    db: Database,
) -> None:
    with db.write() as session:
        assert audit.record_many(session, principal=SYSTEM, entries=_entries(5, "a")) == 5
        _one(session, "b")
        assert audit.record_many(session, principal=SYSTEM, entries=[]) == 6
    with pytest.raises(Rollback), db.write() as session:
        audit.record_many(session, principal=SYSTEM, entries=_entries(4, "lost"))
        raise Rollback
    with db.write() as session:
        _one(session, "c")
        assert audit.record_many(session, principal=SYSTEM, entries=_entries(3, "d")) == 10
    result = _verify(db)
    assert result.ok, result
    assert result.checked == 10
    assert _actions(db) == ["test.a"] * 5 + ["test.b", "test.c"] + ["test.d"] * 3


def test_one_transaction_reads_the_head_once(db: Database) -> None:
    with db.write() as session:
        _one(session, "first")
    with (
        statements_run(db, HEAD_READ) as reads,
        db.write() as session,
    ):
        _one(session, "a")
        audit.record_many(session, principal=SYSTEM, entries=_entries(50, "b"))
        # Flushes of other rows (the user, before its record) leave the cached head alone.
        auth.create_user(session, principal=SYSTEM, username="someone", role=Role.viewer)
        _one(session, "c")
    assert len(reads) == 1
    assert _verify(db).checked == 54


def test_a_session_reused_for_another_transaction_reads_the_head_again(db: Database) -> None:
    # Fails if the cached head outlives its transaction: after a commit another writer may
    # append, after a rollback the records it counted are gone; either way the next record
    # would get a taken or skipped seq.
    with _reused_write_session(db) as session:
        with session.begin():
            _one(session, "kept")
        with db.write() as other:
            _one(other, "elsewhere")
        with session.begin():
            _one(session, "after-commit")
        with pytest.raises(Rollback), session.begin():
            audit.record_many(session, principal=SYSTEM, entries=_entries(2, "lost"))
            raise Rollback
        with session.begin():
            audit.record_many(session, principal=SYSTEM, entries=_entries(2, "last"))
    result = _verify(db)
    assert result.ok, result
    assert _actions(db) == ["test.kept", "test.elsewhere", "test.after-commit"] + ["test.last"] * 2


def test_a_rolled_back_savepoint_takes_its_records_and_the_cached_head(db: Database) -> None:
    with db.write() as session:
        _one(session, "kept")
        with pytest.raises(Rollback), session.begin_nested():
            audit.record_many(session, principal=SYSTEM, entries=_entries(3, "lost"))
            raise Rollback
        _one(session, "after")
        with session.begin_nested():
            _one(session, "in-savepoint")
        _one(session, "last")
    result = _verify(db)
    assert result.ok, result
    assert _actions(db) == ["test.kept", "test.after", "test.in-savepoint", "test.last"]


def test_record_many_outside_a_write_transaction_is_refused(db: Database) -> None:
    with pytest.raises(RuntimeError, match="write transaction"), db.read() as session:
        audit.record_many(session, principal=SYSTEM, entries=_entries(1, "x"))
