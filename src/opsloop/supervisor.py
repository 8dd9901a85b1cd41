"""``opsloop serve`` with several workers: the supervising process imports the app once and
forks its workers from it, then runs the background jobs beside them.

uvicorn starts each worker afresh (multiprocessing's "spawn"), and each one then imports the
whole app: on two cores, both workers' imports competed with each other and with everything
else, and each cost as much CPU as the supervisor's own start. A worker forked from a
supervisor that has imported the app shares those modules and only builds its app.

Only the first workers are forked, while the supervisor runs no other thread. A worker that
uvicorn starts later (in place of one that died, or on SIGHUP) is spawned as before: by then
the background jobs' threads may hold locks (a connection pool's, SQLite's) that a forked
child would inherit, held for good.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import importlib.util
import multiprocessing
import multiprocessing.context
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from opsloop.core.collector import settle_for_serving
from opsloop.core.config import Settings

if TYPE_CHECKING:
    import uvicorn

#: How long a multi-worker ``serve`` lets its workers start before it loads the background jobs.
STARTUP_GRACE_SECONDS = 5.0


def prepare_multiprocess_metrics(path: os.PathLike[str]) -> None:
    # Each worker writes its samples to files here; /metrics then sums all workers.
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.fspath(path)


def workers_skip_the_cli() -> None:
    # A spawned worker runs the parent's main module again: for the `opsloop` script, an
    # import of this whole CLI before the worker imports the app. A main module that is a
    # package's __main__ (as under `python -m opsloop`) is not run again; workers need nothing
    # from it.
    main_module = sys.modules["__main__"]
    if getattr(main_module, "__spec__", None) is None:
        main_module.__spec__ = importlib.util.find_spec("opsloop.__main__")


def can_fork_workers() -> bool:
    """Whether workers forked from this process would work as spawned ones do.

    prometheus_client picks per-process or shared metric values at its first import; one
    imported before ``PROMETHEUS_MULTIPROC_DIR`` was set would leave the forked workers'
    request counts out of /metrics.
    """
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        and "prometheus_client" not in sys.modules
    )


def preload_app() -> None:
    """Import what every worker runs, with the collector paused and the result frozen, as a
    worker does (opsloop.worker): forked workers then share these objects' pages."""
    gc.disable()
    try:
        importlib.import_module("opsloop.worker")
        importlib.import_module("opsloop.app")
    finally:
        settle_for_serving()
        gc.enable()


#: glibc's mallopt parameter for MALLOC_ARENA_MAX.
_M_ARENA_MAX = -8


def _malloc_arenas_from_environment() -> None:
    # glibc reads MALLOC_ARENA_MAX when a program starts, and `serve` sets it after its own
    # start: a spawned worker got it, a forked one gets it here, before its first thread.
    value = os.environ.get("MALLOC_ARENA_MAX", "")
    if not value.isdigit():
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: it never read the variable either
        return
    mallopt(_M_ARENA_MAX, int(value))


class _ForkedWorker(multiprocessing.context.ForkProcess):
    def run(self) -> None:
        from uvicorn.supervisors.multiprocess import SIGNALS

        # The supervisor's handlers only queue signals for its own loop; a spawned worker
        # starts with the default ones, and a forked one must too until uvicorn sets its own
        # (else a SIGTERM while it builds its app would be lost).
        for number in SIGNALS:
            fresh = signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL
            signal.signal(number, fresh)
        _malloc_arenas_from_environment()
        super().run()


class _ForkContext(multiprocessing.context.ForkContext):
    Process = _ForkedWorker


@contextmanager
def forking_workers() -> Iterator[bool]:
    """uvicorn's workers started meanwhile are forked from this process; yields whether
    that could be arranged (else they are spawned, as always)."""
    from uvicorn import _subprocess

    spawn = getattr(_subprocess, "spawn", None)
    if not isinstance(spawn, multiprocessing.context.SpawnContext):
        yield False
        return
    _subprocess.spawn = cast(Any, _ForkContext())
    try:
        yield True
    finally:
        _subprocess.spawn = spawn


class BackgroundJobs:
    """The scheduler of a multi-worker ``serve``, in a thread of the supervising process. The
    domains it runs are imported in that thread once the workers are on their way, if the
    workers were not forked from an import of them here."""

    def __init__(self, cfg: Settings) -> None:
        self._cfg = cfg
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="opsloop-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        # Let the workers start first: they answer requests, the jobs can wait.
        if self._stop.wait(STARTUP_GRACE_SECONDS):
            return
        from opsloop.app import start_background
        from opsloop.core.db import Database

        # As each worker does after building the app: the objects just imported live as long
        # as the process, and later collections (every evaluation makes many) skip them.
        gc.collect()
        settle_for_serving()
        db = Database(self._cfg.database_url)
        background = start_background(self._cfg, db)
        self._stop.wait()
        background.stop()
        db.dispose()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=35)


def run_workers(config: uvicorn.Config, background: BackgroundJobs | None, *, fork: bool) -> None:
    """uvicorn's supervisor for ``config.workers`` workers, as ``uvicorn.run`` runs it, with
    the first workers forked from this process when ``fork`` (it has imported the app with
    ``preload_app``, and ``can_fork_workers`` said yes); the background jobs start once the
    workers are on their way, and stop after them."""
    from uvicorn.supervisors.multiprocess import Multiprocess

    class Workers(Multiprocess):
        def init_processes(self) -> None:
            if fork:
                with forking_workers():
                    super().init_processes()
            else:
                super().init_processes()
            if background is not None:
                background.start()

    try:
        Workers(config, sockets=[config.bind_socket()]).run()
    except KeyboardInterrupt:
        pass
    finally:
        if background is not None:
            background.stop()
