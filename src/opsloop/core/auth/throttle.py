"""Login throttling per account and per client address, kept in the database so that every
worker and replica sees the same counts.

An attempt is counted *before* its password is checked and given back if it succeeds. Counting
first is what makes the limit hold under concurrency: a burst of guesses cannot all pass the
check while the first ones are still hashing. Once an account (or address) reaches its limit it
is locked; each further failure after a lock ends doubles the next lock, up to a ceiling. While
locked, attempts are refused without looking at the password, so a right password is refused too
until the lock ends. Failures are forgotten after ``MEMORY`` without a new one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from opsloop.core.auth.models import LoginThrottle
from opsloop.core.errors import OpsloopError

MEMORY = timedelta(hours=1)
_KEY_LENGTH = 200


class TooManyAttempts(OpsloopError):
    status = 429
    code = "too_many_requests"

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after_seconds = max(1, math.ceil(retry_after.total_seconds()))
        super().__init__(
            f"too many failed sign-ins; try again in {self.retry_after_seconds} seconds"
        )


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    max_failures_per_address: int = 20
    lockout: timedelta = timedelta(seconds=30)
    max_lockout: timedelta = timedelta(minutes=15)

    def lock_for(self, failures: int, limit: int) -> timedelta:
        doublings = min(max(failures - limit, 0), 16)
        return min(self.lockout * (1 << doublings), self.max_lockout)


@dataclass(frozen=True)
class Counted:
    key: str
    failures: int
    locked: bool  # this attempt reached the limit and started a lock


def account_key(username: str) -> str:
    return f"user:{username}"[:_KEY_LENGTH]


def address_key(address: str) -> str:
    return f"addr:{address}"[:_KEY_LENGTH]


def _locked_rows(session: Session, keys: list[str], now: datetime) -> dict[str, LoginThrottle]:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for key in keys:
        session.execute(
            insert(LoginThrottle)
            .values(key=key, failures=0, last_failure_at=now, locked_until=None)
            .on_conflict_do_nothing(index_elements=["key"])
        )
    # FOR UPDATE serialises attempts on the same key on PostgreSQL; SQLite write transactions
    # (BEGIN IMMEDIATE) are serial already. Sorted keys: every transaction locks in one order.
    rows = session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.key.in_(keys))
        .order_by(LoginThrottle.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.key: row for row in rows}


def count_attempt(
    session: Session, *, limits: dict[str, int], policy: ThrottlePolicy, now: datetime
) -> list[Counted]:
    """Count one attempt against every key; raise TooManyAttempts if any key is locked."""
    rows = _locked_rows(session, sorted(limits), now)
    waits = [
        row.locked_until - now
        for row in rows.values()
        if row.locked_until is not None and row.locked_until > now
    ]
    if waits:
        raise TooManyAttempts(max(waits))
    counted = []
    for key, limit in limits.items():
        row = rows[key]
        if now - row.last_failure_at > MEMORY:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        locked = row.failures >= limit
        row.locked_until = now + policy.lock_for(row.failures, limit) if locked else None
        counted.append(Counted(key, row.failures, locked))
    # Rows of keys that have been quiet for long are forgotten, so the table stays small.
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - MEMORY,
            (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < now),
        )
    )
    return counted


def give_back(
    session: Session, *, account: str, address: str, address_limit: int, now: datetime
) -> None:
    """A successful sign-in: the account starts afresh; the address gets its attempt back."""
    # Both rows locked in the same (sorted) order as count_attempt, so the two cannot deadlock.
    rows = _locked_rows(session, sorted([account, address]), now)
    session.delete(rows[account])
    row = rows[address]
    row.failures = max(row.failures - 1, 0)
    if row.failures < address_limit:
        row.locked_until = None


def policy_from(
    *,
    max_failures: int,
    max_failures_per_address: int,
    lockout_seconds: int,
    max_lockout_seconds: int,
) -> ThrottlePolicy:
    return ThrottlePolicy(
        max_failures=max_failures,
        max_failures_per_address=max_failures_per_address,
        lockout=timedelta(seconds=lockout_seconds),
        max_lockout=timedelta(seconds=max(lockout_seconds, max_lockout_seconds)),
    )
