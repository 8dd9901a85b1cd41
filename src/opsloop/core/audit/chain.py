"""The hash chain, as pure functions: canonical form, link hash, and verification.

hash(n) = sha256(hash(n-1) + canonical_json(record n without its hashes)). Editing a record
changes its hash; deleting, inserting or reordering records breaks either the sequence or the
prev_hash link of the next record. Verification walks the chain once, in sequence order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
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


@dataclass(frozen=True, kw_only=True)
class Link:
    """One audit record. These fields are the record's only definition: the hash, the
    database row, the export columns and the API schema are all checked against them."""

    seq: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    changes: str
    request_id: str
    # Added after the first records were written: it enters the hash only when set, so that
    # those records still hash as they did.
    client_request_id: str = ""
    prev_hash: str
    hash: str = ""

    def payload(self) -> str:
        content: dict[str, Any] = {}
        for name in FIELDS:
            value = getattr(self, name)
            if name in _NOT_HASHED or (name in _HASHED_WHEN_SET and not value):
                continue
            content[name] = json.loads(value) if name == "changes" else to_json_value(value)
        return canonical_json(content)

    def compute_hash(self) -> str:
        return hashlib.sha256((self.prev_hash + self.payload()).encode()).hexdigest()

    def sealed(self) -> Link:
        """This link with its hash filled in."""
        return replace(self, hash=self.compute_hash())


FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Link))
_NOT_HASHED = frozenset({"prev_hash", "hash"})
_HASHED_WHEN_SET = frozenset({"client_request_id"})


@dataclass(frozen=True, kw_only=True)
class Draft:
    """A record before it has a place in the chain: a :class:`Link` less its sequence number
    and hashes, with ``changes`` still a value (as :func:`diff` returns it)."""

    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    changes: dict[str, Any]
    request_id: str
    client_request_id: str = ""


def extend(prev_seq: int, prev_hash: str, drafts: Iterable[Draft]) -> list[Link]:
    """Sealed links for ``drafts``, in order, continuing the chain after ``prev_seq``."""
    links = []
    for seq, draft in enumerate(drafts, start=prev_seq + 1):
        link = Link(
            seq=seq,
            at=draft.at,
            actor=draft.actor,
            action=draft.action,
            entity_type=draft.entity_type,
            entity_id=draft.entity_id,
            changes=canonical_json(draft.changes),
            request_id=draft.request_id,
            client_request_id=draft.client_request_id,
            prev_hash=prev_hash,
        ).sealed()
        links.append(link)
        prev_hash = link.hash
    return links


@dataclass(frozen=True)
class Verification:
    """``checked``: records known intact, counted from the first (including those an earlier
    verification vouched for); ``walked``: records hashed this time, those after ``from_seq``."""

    ok: bool
    checked: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str = ""
    walked: int = 0
    from_seq: int = 0


def verify(links: Iterable[Link], *, after_seq: int = 0, prev_hash: str = GENESIS) -> Verification:
    """Check links given in ascending ``seq`` order, continuing a chain already verified up to
    record ``after_seq`` with hash ``prev_hash``; stop at the first broken link."""
    expected_seq = after_seq + 1
    walked = 0

    def broken(seq: int, reason: str) -> Verification:
        return Verification(False, expected_seq - 1, prev_hash, seq, reason, walked, after_seq)

    for link in links:
        if link.seq != expected_seq:
            what = "missing" if link.seq > expected_seq else "out of order"
            return broken(expected_seq, f"record {expected_seq} is {what}")
        if link.prev_hash != prev_hash:
            return broken(link.seq, "prev_hash does not match previous record")
        try:
            actual = link.compute_hash()
        except (ValueError, TypeError):
            return broken(link.seq, "record is not valid JSON")
        if actual != link.hash:
            return broken(link.seq, "hash does not match record content")
        prev_hash = link.hash
        expected_seq += 1
        walked += 1
    return Verification(True, expected_seq - 1, prev_hash, walked=walked, from_seq=after_seq)
