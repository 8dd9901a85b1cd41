"""Append audit records to an opsloop database, as a long-lived installation has them.

    CHECKOUT/.venv/bin/python seed_audit.py COUNT      # database from OPSLOOP_* settings

Run with the measured checkout's Python: the records are links of opsloop's own hash chain
(``opsloop.core.audit.chain.Link``), appended after the current head inside opsloop's write
transaction (which takes the audit lock), so ``opsloop audit verify`` finds the chain intact.
Links are built here and inserted in large batches; appending them one by one through
``audit.service.record`` would make the setup take minutes.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict

from sqlalchemy import insert

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.audit.chain import Link, canonical_json, diff
from opsloop.core.audit.models import AuditRecord
from opsloop.core.config import load_settings
from opsloop.core.db import Database

BATCH = 5_000
ACTORS = ("user:alice", "user:bob", "token:deploy-bot", "system")
ACTIONS = (
    ("slo.update", "slo"),
    ("slo.policy_state", "slo"),
    ("user.login", "user"),
    ("token.create", "token"),
)


def links(first_seq: int, prev_hash: str, count: int) -> list[Link]:
    out = []
    for n in range(count):
        seq = first_seq + n
        action, entity = ACTIONS[seq % len(ACTIONS)]
        changes = diff({"note": f"rev {seq - 1}"}, {"note": f"rev {seq}"})
        link = Link(
            seq=seq,
            at=clock.now(),
            actor=ACTORS[seq % len(ACTORS)],
            action=action,
            entity_type=entity,
            entity_id=str(seq % 1000 + 1),
            changes=canonical_json(changes),
            request_id=f"seed-{seq:08d}",
            prev_hash=prev_hash,
        ).sealed()
        prev_hash = link.hash
        out.append(link)
    return out


def main() -> None:
    wanted = int(sys.argv[1])
    db = Database(load_settings().database_url)
    started = time.perf_counter()
    done = 0
    try:
        while done < wanted:
            size = min(BATCH, wanted - done)
            with db.write() as session:
                last_seq, prev_hash = audit.head(session)
                batch = links(last_seq + 1, prev_hash, size)
                session.execute(insert(AuditRecord), [asdict(link) for link in batch])
            done += size
    finally:
        db.dispose()
    seconds = time.perf_counter() - started
    print(json.dumps({"audit_records": done, "seconds": round(seconds, 2)}))


if __name__ == "__main__":
    main()
