"""SQLite WAL checkpoints copied back beside the writers, not in their queue.

SQLite's own automatic checkpoint runs inside the COMMIT that crosses its threshold, so it ran
while that writer still held the write lock of :mod:`opsloop.core.db`: every writer of every
process waited while some 10,000 pages were copied into the database file and synced, once in
about 70 bulk pushes of 100 SLOs (some 140 pages each).

Here a writer only looks, after its commit and after giving the write lock back, how many WAL
frames wait to be copied (two numbers in the ``-shm`` file's header); past
:data:`CHECKPOINT_FRAMES` a thread copies them beside the writers (a PASSIVE checkpoint takes
no write lock). What was committed meanwhile, a small remainder, is copied by the next writer
of the process after its commit, while it still holds the write lock: only a checkpoint that
has copied every frame lets the next writer start the WAL file again from its beginning, so
without that step a steady stream of writers would grow the WAL without bound. (A thread that
queued for the write lock itself could wait behind a busy process's writers for long.)
SQLite's automatic checkpoint stays on as a backstop, at a multiple of the threshold.
"""

from __future__ import annotations

import logging
import struct
import threading

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

    def __init__(self, engine: Engine, database_path: str, *, frames: int = CHECKPOINT_FRAMES):
        self.engine = engine
        self.shm = database_path + "-shm"
        self.frames = frames
        self._running = threading.Lock()
        #: Set by a checkpoint beside the writers: the next writer copies the remainder.
        self.remainder = False

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

    def while_locked(self) -> None:
        """After a commit, still holding the write lock: copy the remainder of a checkpoint
        that ran beside the writers, if one did."""
        if self.remainder:
            self.remainder = False
            self._checkpoint()

    def after_write(self) -> None:
        """After the write lock is given back: start a checkpoint beside the writers if enough
        frames wait and none is running in this process."""
        if self._running.locked():
            return
        waiting = self.waiting_frames()
        if waiting is None or waiting < self.frames:
            return
        if not self._running.acquire(blocking=False):
            return
        try:
            threading.Thread(target=self._beside, name="sqlite-checkpoint", daemon=True).start()
        except BaseException:
            self._running.release()
            raise

    def wait(self, timeout: float = 30.0) -> None:
        """Until a checkpoint running beside the writers has ended (before the engine goes)."""
        if self._running.acquire(timeout=timeout):
            self._running.release()

    def _beside(self) -> None:
        try:
            self._checkpoint()
            self.remainder = True
        except Exception:  # a later writer starts another; SQLite's own checkpoint backstops
            log.warning("WAL checkpoint of %s failed", self.shm[:-4], exc_info=True)
        finally:
            self._running.release()

    def _checkpoint(self) -> None:
        # The driver's connection: in autocommit (opsloop.core.db hands BEGIN to SQLAlchemy),
        # so no transaction of its own holds back what the checkpoint may copy.
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            cursor.close()
        finally:
            connection.close()
