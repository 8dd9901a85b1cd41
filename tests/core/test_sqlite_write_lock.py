"""SQLite writers queue on the lock file instead of SQLite's busy handler.

With a busy timeout of one millisecond, any writer that reached ``BEGIN IMMEDIATE`` while
another held the database would fail with "database is locked". Writers in two processes and
several threads each all succeed, so they must have waited their turn on the lock file.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from opsloop.core.db import Database, _SqliteWriteLock

PROCESSES = 2
THREADS = 4
WRITES = 25


def _tiny_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=1")


def _writer_process(url: str, name: str) -> list[str]:
    db = Database(url)
    event.listen(db.engine, "connect", _tiny_busy_timeout)
    errors: list[str] = []

    def writes(thread: int) -> None:
        for n in range(WRITES):
            try:
                with db.write(audited=False) as session:
                    session.execute(
                        text("INSERT INTO lock_probe (who) VALUES (:who)"),
                        {"who": f"{name}-{thread}-{n}"},
                    )
                    time.sleep(0.001)  # hold the lock long enough for the others to queue
            except Exception as exc:
                errors.append(str(exc).splitlines()[0])

    threads = [threading.Thread(target=writes, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.dispose()
    return errors


def test_writers_in_several_processes_and_threads_queue_without_busy_errors(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'locks.db'}"
    db = Database(url)
    with db.write() as session:
        session.execute(text("CREATE TABLE lock_probe (id INTEGER PRIMARY KEY, who TEXT)"))
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(_writer_process, [(url, f"p{i}") for i in range(PROCESSES)])
    errors = [e for result in results for e in result]
    assert errors == []
    with db.read() as session:
        stored = session.execute(text("SELECT count(*) FROM lock_probe")).scalar_one()
    assert stored == PROCESSES * THREADS * WRITES
    assert Path(f"{tmp_path / 'locks.db'}-writelock").exists()
    db.dispose()


def test_in_memory_databases_take_no_lock_file() -> None:
    for url in ("sqlite://", "sqlite:///:memory:", "postgresql+psycopg://db/opsloop"):
        assert _SqliteWriteLock.for_url(url) is None
