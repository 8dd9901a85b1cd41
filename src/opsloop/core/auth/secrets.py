"""Password and token hashing.

Passwords are low-entropy, so they get argon2 (slow on purpose). API tokens and session ids are
256 random bits, so a single sha256 is enough to make a stolen table useless and keeps the
per-request check cheap.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "opl_"  # noqa: S105 - a public marker, not a secret
_hasher = PasswordHasher()
# Verified against when the user does not exist, so both paths cost the same. Made on first
# use, not at import: a hash costs as much as a sign-in, and every process (the CLI, each
# server worker) would pay it before doing anything.
_dummy_hash: str | None = None


def set_password_cost(*, time_cost: int, memory_kib: int) -> None:
    """Tune argon2's cost. Stored hashes keep the cost they were made with, so this only
    affects new hashes; the suite lowers it, production keeps argon2's defaults."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
    _dummy_hash = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("opsloop-no-such-user")
    return _dummy_hash


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
