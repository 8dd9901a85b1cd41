"""Freed heap memory goes back to the system: at once with trim(), and on a timer while the app
serves."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsloop.app import create_app
from opsloop.core import memory
from opsloop.core.config import Settings
from opsloop.core.db import Database

pytestmark = pytest.mark.skipif(not memory.can_trim(), reason="the C library has no malloc_trim")

# 60,000 blocks of 2 KB (below glibc's mmap threshold, so in the heap), every 64th kept to the
# end: nearly every page is free afterwards, but the kept blocks pin the heap, so glibc alone
# gives none of its ~120 MB back.
_FRAGMENT_THEN_TRIM = """
import sys
from opsloop.core import memory

def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

blocks = [bytearray(2048) for _ in range(60_000)]
kept = blocks[::64]
del blocks
before = rss_kib()
if sys.argv[1] == "trim":
    memory.trim()
print(before, rss_kib(), len(kept))
"""


def _rss_before_and_after(action: str) -> tuple[int, int]:
    found = subprocess.run(
        [sys.executable, "-c", _FRAGMENT_THEN_TRIM, action],
        capture_output=True,
        text=True,
        check=True,
    )
    before, after, _ = (int(part) for part in found.stdout.split())
    return before, after


def test_trim_gives_back_the_pages_a_fragmented_heap_no_longer_uses() -> None:
    before, after = _rss_before_and_after("trim")
    assert before - after > 80_000, (before, after)  # KiB: most of the ~120 MB freed
    held_before, held_after = _rss_before_and_after("none")
    assert held_before - held_after < 10_000, "without a trim glibc keeps the freed pages"


def _trims_while_serving(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seconds: float, want: int
) -> tuple[list[int], int]:
    """The trims an app made while it served (waiting for up to ``want`` of them, at most
    5 s), and how many there were 0.1 s after it stopped."""
    calls: list[int] = []
    monkeypatch.setattr(memory, "_TRIM", lambda pad: calls.append(pad) or 1)
    settings = Settings(
        database_url=db.url,
        data_dir=tmp_path / "data",
        scheduler_enabled=False,
        memory_trim_seconds=seconds,
    )
    with TestClient(create_app(settings, db)) as client:
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + (5 if want else 0.1)
        while len(calls) < max(want, 1) and time.monotonic() < deadline:
            time.sleep(0.01)
    served = list(calls)
    time.sleep(0.1)
    return served, len(calls)


def test_the_app_trims_on_its_interval_while_it_serves(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served, later = _trims_while_serving(db, tmp_path, monkeypatch, 0.01, want=3)
    assert len(served) >= 3 and set(served) == {0}
    assert later == len(served), "the timer ends with the app"


def test_an_interval_of_zero_never_trims(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served, later = _trims_while_serving(db, tmp_path, monkeypatch, 0, want=0)
    assert served == [] and later == 0
