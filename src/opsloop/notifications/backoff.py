"""When to try a failed delivery again: exponential backoff with full jitter, or the
receiver's ``Retry-After``."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


def backoff_seconds(
    attempts: int, *, base: float, cap: float, rand: random.Random | None = None
) -> float:
    """Full jitter: uniform between 0 and min(cap, base * 2^(attempts-1)), so that many
    notifications failing together do not come back together."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return (rand or random).uniform(0, ceiling)


def retry_after(value: str | None, now: datetime, *, cap: float) -> timedelta | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as a delay, at most ``cap``
    seconds; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - now).total_seconds()
    return timedelta(seconds=min(cap, max(0.0, seconds)))
