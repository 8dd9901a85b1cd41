"""A short-lived, per-process memory of accepted tokens.

Looking a token up costs a database round trip on every API request; remembering an accepted
token for a few seconds removes that from the hot path. The price is bounded and explicit: a
token revoked, or a user disabled or demoted, through another process keeps working in this
one for at most ``TOKEN_CACHE_SECONDS``. Changes made through this process clear it as soon as
they commit (``clear_after_commit``): clearing earlier would let a concurrent request re-cache
the old answer between the clear and the commit. Each clear also starts a new generation, and an
answer looked up under an older generation is not remembered, so a lookup that read the database
before the commit cannot store its stale answer after the clear either.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.auth.roles import Principal
from opsloop.core.auth.secrets import digest
from opsloop.core.shared_work import Running

TOKEN_CACHE_SECONDS = 5
MAX_ENTRIES = 10_000


class TokenCache:
    def __init__(self, ttl: timedelta = timedelta(seconds=TOKEN_CACHE_SECONDS)) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[Principal, datetime]] = {}
        self.generation = 0
        #: Lookups under way (on the app's event loop), by token digest and generation.
        self.lookups: Running = {}

    def get(self, plaintext: str) -> Principal | None:
        entry = self._entries.get(digest(plaintext))
        if entry is None:
            return None
        principal, valid_until = entry
        if clock.now() >= valid_until:
            self._entries.pop(digest(plaintext), None)
            return None
        return principal

    def put(
        self,
        plaintext: str,
        principal: Principal,
        expires_at: datetime | None,
        *,
        generation: int | None = None,
    ) -> None:
        if generation is not None and generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()  # crude, but bounded; a refill costs one lookup per token
        valid_until = clock.now() + self.ttl
        if expires_at is not None:
            valid_until = min(valid_until, expires_at)
        self._entries[digest(plaintext)] = (principal, valid_until)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()


def clear_after_commit(session: Session, cache: TokenCache) -> None:
    """Forget every cached token once this session's transaction has committed."""
    event.listen(session, "after_commit", lambda _: cache.clear(), once=True)
