"""SQLite WAL checkpoints copied back beside the writers, not in their queue.

SQLite's own automatic checkpoint runs inside the COMMIT that crosses its threshold, so it ran
while that writer still held the write lock of :mod:`opsloop.core.db`: every writer of every
process waited while some 10,000 pages were copied into the database file and synced. Under a
stream of bulk pushes that was one stall of tens of milliseconds every third of a second.

Here a writer only looks, after its commit and after giving the write lock back, how many WAL
frames wait to be copied (two numbers in the ``-shm`` file's header); past
:data:`CHECKPOINT_FRAMES` a thread copies them. The copy runs beside the writers (a PASSIVE
checkpoint takes no write lock); then, holding the write lock, the thread copies what was
committed meanwhile, a small remainder. Only a checkpoint that has copied every frame lets the
next writer start the WAL file again from its beginning: without that second step, a steady
stream of writers would grow the WAL without bound. SQLite's automatic checkpoint stays on as
a backstop, at a multiple of the threshold.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Engine

log = logging.getLogger(__name__)

#: WAL frames (4 KiB pages) after which a writer has them copied back into the database file.
CHECKPOINT_FRAMES = 10_000
#: SQLite's own checkpoint in the COMMIT, for when the thread cannot keep up.
BACKSTOP_FRAMES = 4 * CHECKPOINT_FRAMES

# The wal-index header (https://www.sqlite.org/walformat.html), native byte order: mxFrame, the
# last valid frame, at offset 16; nBackfill, the frames already copied, at offset 96.
_MX_FRAME = struct.Struct("=I")
_MX_FRAME_AT = 16
_BACKFILL_AT = 96


class Checkpoints:
    """The checkpoints of one SQLite file for one process (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        database_path: str,
        write_lock: Callable[[], AbstractContextManager[None]],
        *,
        frames: int = CHECKPOINT_FRAMES,
    ) -> None:
        self.engine = engine
        self.shm = database_path + "-shm"
        self.write_lock = write_lock
        self.frames = frames
        self._running = threading.Lock()

    def waiting_frames(self) -> int | None:
        """Frames committed to the WAL and not yet copied back; None if there is no WAL."""
        try:
            with open(self.shm, "rb") as shm:
                header = shm.read(_BACKFILL_AT + 4)
        except OSError:
            return None
        if len(header) < _BACKFILL_AT + 4:
            return None
        (last,) = _MX_FRAME.unpack_from(header, _MX_FRAME_AT)
        (copied,) = _MX_FRAME.unpack_from(header, _BACKFILL_AT)
        return max(0, int(last) - int(copied))

    def after_write(self) -> None:
        """Start a checkpoint if enough frames wait and none is running in this process."""
        if self._running.locked():
            return
        waiting = self.waiting_frames()
        if waiting is None or waiting < self.frames:
            return
        if not self._running.acquire(blocking=False):
            return
        try:
            threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True).start()
        except BaseException:
            self._running.release()
            raise

    def run(self) -> None:
        """One checkpoint, in the calling thread: the bulk beside the writers, the rest while
        holding the write lock."""
        # The driver's connection: in autocommit (opsloop.core.db hands BEGIN to SQLAlchemy),
        # so no transaction of its own holds back what the checkpoint may copy.
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            with self.write_lock():
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            cursor.close()
        finally:
            connection.close()

    def _run(self) -> None:
        try:
            self.run()
        except Exception:  # a later writer starts another; SQLite's own checkpoint backstops
            log.warning("WAL checkpoint of %s failed", self.shm[:-4], exc_info=True)
        finally:
            self._running.release()
