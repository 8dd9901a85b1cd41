"""The one source of "now" in opsloop: always aware UTC, and replaceable so tests move time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

#: The resolution of opsloop's time series: pushed counts are kept per minute and SLOs are
#: evaluated once a minute.
MINUTE = timedelta(minutes=1)


def _system_now() -> datetime:
    return datetime.now(UTC)


_now: Callable[[], datetime] = _system_now


def now() -> datetime:
    return _now()


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Install a replacement clock (``None`` restores the system clock)."""
    global _now
    _now = source or _system_now


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.current = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        self.current += delta
        return self.current
