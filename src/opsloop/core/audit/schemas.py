from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Json

from opsloop.core.schemas import Schema


class AuditRecordOut(Schema):
    """``chain.Link`` as the API shows it (a test keeps the two alike), with ``changes``
    parsed."""

    seq: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    changes: Json[Any]
    request_id: str
    client_request_id: str
    prev_hash: str
    hash: str


class VerificationOut(Schema):
    ok: bool
    checked: int
    head_hash: str
    first_bad_seq: int | None
    reason: str
    walked: int
    from_seq: int
