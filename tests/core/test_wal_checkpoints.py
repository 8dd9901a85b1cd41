"""SQLite WAL checkpoints run beside the writers and still keep the WAL file bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from opsloop.core import wal_checkpoints
from opsloop.core.db import Database

FRAMES = 40
PAGE = 4096


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    with db.write() as session:
        session.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, body BLOB)"))
    yield db
    db.dispose()


def checkpoints(db: Database) -> wal_checkpoints.Checkpoints:
    found = db._checkpoints
    assert found is not None
    return found


def write_pages(db: Database, pages: int) -> None:
    with db.write(audited=False) as session:
        for _ in range(pages):
            session.execute(text("INSERT INTO probe (body) VALUES (randomblob(3500))"))


def settle(found: wal_checkpoints.Checkpoints) -> None:
    deadline = time.monotonic() + 10
    while found._running.locked() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_sqlites_own_checkpoint_is_only_a_backstop(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        frames = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert frames == wal_checkpoints.BACKSTOP_FRAMES > wal_checkpoints.CHECKPOINT_FRAMES


def test_a_commit_past_the_threshold_has_the_wal_copied_back(sqlite_db: Database) -> None:
    found = checkpoints(sqlite_db)
    found.frames = FRAMES
    write_pages(sqlite_db, FRAMES // 2)
    assert 0 < (found.waiting_frames() or 0) < FRAMES
    assert not found._running.locked()  # below the threshold nothing starts
    write_pages(sqlite_db, FRAMES)
    settle(found)
    assert found.waiting_frames() == 0


def test_a_steady_stream_of_writers_does_not_grow_the_wal(
    sqlite_db: Database, tmp_path: Path
) -> None:
    # Writers never pause, so a checkpoint beside them always finds frames committed after it
    # began, and only one that finishes while holding the write lock lets the WAL start over.
    found = checkpoints(sqlite_db)
    found.frames = FRAMES
    stop = threading.Event()
    commits = [0, 0]

    def stream(index: int) -> None:
        while not stop.is_set():
            write_pages(sqlite_db, 2)
            commits[index] += 1

    writers = [threading.Thread(target=stream, args=(n,)) for n in range(2)]
    for writer in writers:
        writer.start()
    time.sleep(2.5)
    stop.set()
    for writer in writers:
        writer.join()
    settle(found)
    in_wal = (tmp_path / "wal.db-wal").stat().st_size // (PAGE + 24)
    # Each commit adds at least its two new pages; a WAL that never starts over holds them all.
    written = 2 * sum(commits)
    assert written > 50 * FRAMES
    assert in_wal < written / 3, (in_wal, written)


def test_the_next_writer_copies_what_was_committed_beside_the_checkpoint(
    sqlite_db: Database,
) -> None:
    found = checkpoints(sqlite_db)
    found.frames = FRAMES
    write_pages(sqlite_db, 2 * FRAMES)
    settle(found)
    assert found.remainder  # the checkpoint beside the writers asks for the rest
    write_pages(sqlite_db, 3)
    # That writer copied the rest (its own commit included) before giving the lock back.
    assert not found.remainder
    assert found.waiting_frames() == 0
