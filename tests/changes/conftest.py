from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsloop.core import clock

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def at_now(frozen_clock: clock.FrozenClock) -> clock.FrozenClock:
    frozen_clock.current = NOW
    return frozen_clock
