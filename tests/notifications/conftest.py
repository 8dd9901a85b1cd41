from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from opsloop.core import clock
from opsloop.core.config import Settings
from opsloop.core.db import Database
from tests.notifications.receivers import notify_settings


@pytest.fixture
def real_now_clock() -> Iterator[clock.FrozenClock]:
    """Frozen at the real time: receivers check webhook-timestamp against their own clock
    (5 minutes of tolerance), so tests move this one by seconds only."""
    fake = clock.FrozenClock(datetime.now(UTC))
    clock.set_clock(fake)
    yield fake
    clock.set_clock(None)


@pytest.fixture
def nsettings(db: Database, tmp_path: Path) -> Settings:
    return notify_settings(db, tmp_path)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(2.0), follow_redirects=False) as client:
        yield client
