"""A server secret shared by every worker and replica, and tokens signed with it.

The secret lives in the database (created once by whichever process gets there first), so a
token one worker issues is accepted by every other. ``OPSLOOP_SECRET_KEY`` overrides it, for
deployments that want to rotate it from outside.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from opsloop.core import clock
from opsloop.core.auth.models import ServerSecret
from opsloop.core.db import Database

SIGNING_KEY = "signing"


def server_secret(db: Database, override: str = "") -> bytes:
    if override:
        return override.encode()
    insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
    with db.write() as session:
        # Two processes starting at once both insert; the loser's row is dropped and both
        # read the winner's value.
        session.execute(
            insert(ServerSecret)
            .values(name=SIGNING_KEY, value=secrets.token_urlsafe(48))
            .on_conflict_do_nothing(index_elements=["name"])
        )
        value = session.scalar(select(ServerSecret.value).where(ServerSecret.name == SIGNING_KEY))
    assert value is not None  # inserted above or by the winner
    return value.encode()


def _mac(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def new_signed_token(secret: bytes, purpose: str) -> str:
    """A random nonce and its issue time, signed: only this server can make one."""
    message = f"{secrets.token_urlsafe(24)}.{int(clock.now().timestamp())}"
    return f"{message}.{_mac(secret, purpose + ':' + message)}"


def valid_signed_token(secret: bytes, purpose: str, token: str, max_age: timedelta) -> bool:
    nonce, _, rest = token.partition(".")
    issued, _, mac = rest.partition(".")
    if not nonce or not issued.isdigit() or not mac:
        return False
    expected = _mac(secret, f"{purpose}:{nonce}.{issued}")
    if not hmac.compare_digest(mac, expected):
        return False
    age = clock.now().timestamp() - int(issued)
    return 0 <= age <= max_age.total_seconds()
