"""Verification from a checkpoint and against an anchor, on SQLite and PostgreSQL: a truncated
tail, an emptied table and a recomputed chain are all caught."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from sqlalchemy import text

from opsloop.core.audit import service as audit
from opsloop.core.audit import verification
from opsloop.core.audit.chain import GENESIS
from opsloop.core.audit.models import AuditCheckpoint
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.core.errors import ValidationFailed
from tests.helpers import append_only_guard_dropped, make_user


def _seed(db: Database, n: int, prefix: str = "user") -> None:
    for i in range(n):
        make_user(db, f"{prefix}{i}", Role.viewer)


def _anchor(db: Database) -> str:
    with db.read() as session:
        seq, digest = audit.head(session)
    return f"{seq}:{digest}"


def _checkpoint(db: Database) -> tuple[int, str] | None:
    with db.read() as session:
        row = session.get(AuditCheckpoint, 1)
        return (row.seq, row.hash) if row else None


def _tamper(db: Database, *statements: str) -> None:
    with append_only_guard_dropped(db), db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def _rewrite_from(db: Database, seq: int) -> None:
    """Edit record ``seq`` and recompute every later hash, as someone who knows the (public)
    hashing rule can."""
    with db.read() as session:
        links = [audit.as_link(r) for r in audit.iterate(session, flt=audit.AuditFilter())]
    prev = links[seq - 2].hash if seq > 1 else GENESIS
    with append_only_guard_dropped(db), db.engine.begin() as conn:
        for link in links[seq - 1 :]:
            actor = "mallory" if link.seq == seq else link.actor
            forged = dataclasses.replace(link, actor=actor, prev_hash=prev).sealed()
            conn.execute(
                text(
                    "UPDATE audit_records SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"
                ),
                {"a": forged.actor, "p": forged.prev_hash, "h": forged.hash, "s": forged.seq},
            )
            prev = forged.hash


def test_second_verification_hashes_only_the_new_records(db: Database) -> None:
    _seed(db, 5)
    first = verification.chain_status(db)
    assert (first.ok, first.checked, first.walked, first.from_seq) == (True, 5, 5, 0)
    assert _checkpoint(db) == (5, first.head_hash)

    _seed(db, 2, prefix="later")
    second = verification.chain_status(db)
    assert (second.ok, second.checked, second.walked, second.from_seq) == (True, 7, 2, 5)
    assert _checkpoint(db) == (7, second.head_hash)

    full = verification.chain_status(db, full=True)
    assert (full.ok, full.checked, full.walked, full.from_seq) == (True, 7, 7, 0)


def test_an_edit_before_the_checkpoint_needs_a_full_verification(db: Database) -> None:
    _seed(db, 5)
    verification.chain_status(db)
    _tamper(db, "UPDATE audit_records SET actor = 'mallory' WHERE seq = 2")
    assert verification.chain_status(db).ok  # the documented limit of the incremental check
    full = verification.chain_status(db, full=True)
    assert not full.ok and full.first_bad_seq == 2


def test_edited_checkpoint_record_is_caught_incrementally(db: Database) -> None:
    _seed(db, 4)
    verification.chain_status(db)
    _tamper(db, "UPDATE audit_records SET hash = '" + "a" * 64 + "' WHERE seq = 4")
    result = verification.chain_status(db)
    assert not result.ok and result.first_bad_seq == 4 and "rewritten" in result.reason


def test_truncated_tail_is_caught_after_a_verification(db: Database) -> None:
    _seed(db, 5)
    verification.chain_status(db)
    _tamper(db, "DELETE FROM audit_records WHERE seq >= 4")
    for full in (False, True):
        result = verification.chain_status(db, full=full)
        assert not result.ok and result.first_bad_seq == 4
        assert "truncated" in result.reason and "ends at record 3" in result.reason
    assert _checkpoint(db) is not None and _checkpoint(db)[0] == 5  # type: ignore[index]


def test_emptied_table_does_not_verify_once_a_checkpoint_exists(db: Database) -> None:
    _seed(db, 3)
    verification.chain_status(db)
    emptying = (
        "TRUNCATE audit_records" if db.dialect == "postgresql" else "DELETE FROM audit_records"
    )
    _tamper(db, emptying)
    result = verification.chain_status(db)
    assert not result.ok and result.checked == 0 and result.first_bad_seq == 1
    assert "truncated" in result.reason


def test_empty_trail_without_a_checkpoint_is_intact(db: Database) -> None:
    result = verification.chain_status(db)
    assert result.ok and result.checked == 0 and _checkpoint(db) is None


def test_recomputed_chain_is_caught_by_the_checkpoint(db: Database) -> None:
    _seed(db, 5)
    verification.chain_status(db)
    _rewrite_from(db, 3)
    for full in (False, True):
        result = verification.chain_status(db, full=full)
        assert not result.ok and result.first_bad_seq == 5 and "rewritten" in result.reason


def test_recomputed_chain_and_checkpoint_are_caught_by_the_anchor(db: Database) -> None:
    _seed(db, 5)
    anchor = _anchor(db)
    verification.chain_status(db)
    _rewrite_from(db, 3)
    with db.read() as session:
        _, forged_head = audit.head(session)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_checkpoints SET hash = :h"), {"h": forged_head})
    assert verification.chain_status(db, full=True).ok  # nothing inside the database tells
    result = verification.chain_status(db, anchor=anchor)
    assert not result.ok and result.first_bad_seq == 5
    assert "different hash than in the anchor" in result.reason


def test_anchor_beyond_the_head_means_truncation(db: Database) -> None:
    _seed(db, 3)
    anchor = _anchor(db)
    _tamper(db, "DELETE FROM audit_records WHERE seq = 3")
    assert verification.chain_status(db).ok  # no checkpoint yet: a clean cut is invisible
    result = verification.chain_status(db, anchor=anchor)
    assert not result.ok and result.first_bad_seq == 3 and "truncated" in result.reason


def test_an_intact_chain_matches_its_anchor(db: Database) -> None:
    _seed(db, 3)
    anchor = _anchor(db)
    _seed(db, 2, prefix="later")
    result = verification.chain_status(db, anchor=anchor)
    assert result.ok and result.checked == 5
    assert verification.chain_status(db, anchor=f"0:{GENESIS}").ok


@pytest.mark.parametrize(
    "anchor", ["", "nonsense", "3", "3:abc", "x:" + "a" * 64, "3:" + "A" * 64, "0:" + "a" * 64]
)
def test_malformed_anchor_is_refused_naming_the_field(db: Database, anchor: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        verification.chain_status(db, anchor=anchor)
    assert caught.value.field == "anchor"
    assert _checkpoint(db) is None


def test_checkpoint_never_moves_back(db: Database) -> None:
    _seed(db, 5)
    head = verification.chain_status(db).head_hash
    with db.read() as session:
        older = audit.as_link(session.get_one(audit.AuditRecord, 3))
    with db.write() as session:  # an older verification finishing late
        session.execute(
            verification._ADVANCE_CHECKPOINT,
            {"id": 1, "seq": 3, "hash": older.hash, "at": older.at},
        )
    assert _checkpoint(db) == (5, head)


def test_concurrent_verifications_and_writes_keep_a_valid_checkpoint(db: Database) -> None:
    _seed(db, 3)
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def verifier() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                assert verification.chain_status(db).ok
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            _seed(db, 4, prefix=f"w{n}-")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=verifier) for _ in range(4)]
    threads += [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = verification.chain_status(db, full=True)
    assert final.ok and final.checked == 11
    assert _checkpoint(db) == (11, final.head_hash)
