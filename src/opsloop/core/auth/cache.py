"""A short-lived, per-process memory of accepted tokens.

Looking a token up costs a database round trip on every API request; remembering an accepted
token for a few seconds removes that from the hot path. The price is bounded and explicit: a
token revoked, or a user disabled or demoted, through another process keeps working in this
one for at most ``TOKEN_CACHE_SECONDS``. Changes made through this process clear it at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from opsloop.core import clock
from opsloop.core.auth.roles import Principal
from opsloop.core.auth.secrets import digest

TOKEN_CACHE_SECONDS = 5
MAX_ENTRIES = 10_000


class TokenCache:
    def __init__(self, ttl: timedelta = timedelta(seconds=TOKEN_CACHE_SECONDS)) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[Principal, datetime]] = {}

    def get(self, plaintext: str) -> Principal | None:
        entry = self._entries.get(digest(plaintext))
        if entry is None:
            return None
        principal, valid_until = entry
        if clock.now() >= valid_until:
            self._entries.pop(digest(plaintext), None)
            return None
        return principal

    def put(self, plaintext: str, principal: Principal, expires_at: datetime | None) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()  # crude, but bounded; a refill costs one lookup per token
        valid_until = clock.now() + self.ttl
        if expires_at is not None:
            valid_until = min(valid_until, expires_at)
        self._entries[digest(plaintext)] = (principal, valid_until)

    def clear(self) -> None:
        self._entries.clear()
