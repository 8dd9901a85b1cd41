"""Verifying the audit trail: incrementally from a checkpoint, in full, and against an anchor.

A verification that finds the chain intact stores its head as the checkpoint. The next one
checks that the checkpoint record still exists with the same hash and then hashes only the
records after it, so the cost follows the records added since, not the length of the trail.
``full=True`` hashes the whole chain again; run it from time to time, because an edit before
the checkpoint is found only that way.

The checkpoint makes a truncated tail or an emptied table visible, but it lives in the same
database: whoever can rewrite the chain can rewrite the checkpoint too. An anchor (``SEQ:HASH``
from ``opsloop audit head``) kept outside the database catches that as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit.chain import GENESIS, Link, Verification, verify
from opsloop.core.audit.models import AuditCheckpoint, AuditRecord
from opsloop.core.audit.service import as_link, head
from opsloop.core.db import Database, UTCDateTime
from opsloop.core.errors import ValidationFailed

_CHECKPOINT_ID = 1
_ANCHOR = re.compile(r"^(\d{1,12}):([0-9a-f]{64})$")

# One statement on SQLite and PostgreSQL alike; the WHERE keeps the checkpoint from moving back
# when an older verification finishes after a newer one.
_ADVANCE_CHECKPOINT = text(
    "INSERT INTO audit_checkpoints (id, seq, hash, verified_at) VALUES (:id, :seq, :hash, :at) "
    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
    "verified_at = excluded.verified_at WHERE audit_checkpoints.seq < excluded.seq"
).bindparams(bindparam("at", type_=UTCDateTime()))


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str

    @classmethod
    def parse(cls, value: str) -> Anchor:
        match = _ANCHOR.match(value.strip())
        if not match or (int(match[1]) == 0 and match[2] != GENESIS):
            raise ValidationFailed(
                "anchor must look like SEQ:HASH as printed by 'opsloop audit head'",
                field="anchor",
            )
        return cls(int(match[1]), match[2])


def chain_status(db: Database, *, full: bool = False, anchor: str | None = None) -> Verification:
    """Verify the chain (see the module's description) and, if it is intact, advance the
    checkpoint. The web overview, the API and the CLI all call this."""
    parsed = Anchor.parse(anchor) if anchor is not None else None
    with db.read() as session:
        result = verify_chain(session, full=full, anchor=parsed)
    if result.ok and result.checked > 0:
        with db.write() as session:
            session.execute(
                _ADVANCE_CHECKPOINT,
                {
                    "id": _CHECKPOINT_ID,
                    "seq": result.checked,
                    "hash": result.head_hash,
                    "at": clock.now(),
                },
            )
    return result


def verify_chain(
    session: Session, *, full: bool = False, anchor: Anchor | None = None
) -> Verification:
    """Verify without writing anything."""
    checkpoint = session.get(AuditCheckpoint, _CHECKPOINT_ID)
    start = Anchor(0, GENESIS)
    if checkpoint is not None and checkpoint.seq > 0:
        verified = Anchor(checkpoint.seq, checkpoint.hash)
        where = f"the checkpoint of {checkpoint.verified_at:%Y-%m-%d %H:%M} UTC"
        problem = _still_there(session, verified, where)
        if problem is not None:
            return problem
        if not full:
            start = verified
    result = verify(_links_after(session, start.seq), after_seq=start.seq, prev_hash=start.hash)
    if result.ok and anchor is not None:
        return _still_there(session, anchor, "the anchor") or result
    return result


def _links_after(session: Session, seq: int) -> Iterator[Link]:
    query = select(AuditRecord).where(AuditRecord.seq > seq).order_by(AuditRecord.seq)
    for row in session.scalars(query.execution_options(yield_per=1000)):
        yield as_link(row)


def _still_there(session: Session, point: Anchor, where: str) -> Verification | None:
    """None if record ``point.seq`` exists with ``point.hash``, else the failed verification."""
    if point.seq == 0:
        return None
    found = session.scalar(select(AuditRecord.hash).where(AuditRecord.seq == point.seq))
    if found == point.hash:
        return None
    last_seq, _ = head(session)
    if found is None:
        return Verification(
            ok=False,
            checked=0,
            head_hash=GENESIS,
            first_bad_seq=min(point.seq, last_seq + 1),
            reason=(
                f"record {point.seq} (in {where}) no longer exists: the chain ends at record "
                f"{last_seq}, so it was truncated"
            ),
        )
    return Verification(
        ok=False,
        checked=0,
        head_hash=GENESIS,
        first_bad_seq=point.seq,
        reason=f"record {point.seq} has a different hash than in {where}: the chain was rewritten",
    )
