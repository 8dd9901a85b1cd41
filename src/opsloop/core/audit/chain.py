"""The hash chain, as pure functions: canonical form, link hash, and verification.

hash(n) = sha256(hash(n-1) + canonical_json(record n without its hashes)). Editing a record
changes its hash; deleting, inserting or reordering records breaks either the sequence or the
prev_hash link of the next record. Verification walks the chain once, in sequence order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

GENESIS = "0" * 64


def to_json_value(value: Any) -> Any:
    """Plain JSON form of a field value as it appears in the audit trail."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json_value(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Changed fields as ``{field: {"before": x, "after": y}}``; unchanged fields are left out."""
    old = to_json_value(before or {})
    new = to_json_value(after or {})
    changes: dict[str, Any] = {}
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key) or (key in old) != (key in new):
            changes[key] = {"before": old.get(key), "after": new.get(key)}
    return changes


@dataclass(frozen=True)
class Link:
    seq: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    changes: str
    request_id: str
    prev_hash: str
    hash: str = ""

    def payload(self) -> str:
        return canonical_json(
            {
                "seq": self.seq,
                "at": to_json_value(self.at),
                "actor": self.actor,
                "action": self.action,
                "entity_type": self.entity_type,
                "entity_id": self.entity_id,
                "changes": json.loads(self.changes),
                "request_id": self.request_id,
            }
        )

    def compute_hash(self) -> str:
        return hashlib.sha256((self.prev_hash + self.payload()).encode()).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str = ""


def verify(links: Iterable[Link]) -> Verification:
    """Check links given in ascending ``seq`` order; stop at the first broken one."""
    expected_seq = 1
    prev_hash = GENESIS
    checked = 0
    for link in links:
        if link.seq != expected_seq:
            what = "missing" if link.seq > expected_seq else "out of order"
            return Verification(
                False, checked, prev_hash, expected_seq, f"record {expected_seq} is {what}"
            )
        if link.prev_hash != prev_hash:
            return Verification(
                False, checked, prev_hash, link.seq, "prev_hash does not match previous record"
            )
        try:
            actual = link.compute_hash()
        except (ValueError, TypeError):
            return Verification(False, checked, prev_hash, link.seq, "record is not valid JSON")
        if actual != link.hash:
            return Verification(
                False, checked, prev_hash, link.seq, "hash does not match record content"
            )
        prev_hash = link.hash
        expected_seq += 1
        checked += 1
    return Verification(True, checked, prev_hash)
