"""The database work of ``opsloop serve`` before it answers: migrations and the first start's
accounts, in a forked child while ``serve`` imports the app.

On an empty database that work is about a second of CPU (alembic and every migration, an
argon2 hash per account), and importing the app is as much again; one after the other they
kept a first start well above its target on two cores. Neither needs the other: the import
touches no database, and the migrations import only the models. ``serve`` still starts no
worker and answers nothing before the child has finished and succeeded, so readiness keeps
its meaning.

The child is forked before this process has a thread or an open connection (the pool is
disposed first), so it inherits no lock and no socket that the parent also uses. It reports the
passwords it generated through a pipe, and the parent shows them as before.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable

import typer

from opsloop.core.cliutil import reported_errors
from opsloop.core.db import Database

Work = Callable[[], dict[str, str]]


def begin(db: Database, work: Work) -> DatabaseSetup:
    """``work`` in a forked child when the schema is behind (a first start, an upgrade),
    else here and now: on an up-to-date schema it is a few queries (and one hash, for a
    database that ``opsloop db upgrade`` made but no ``serve`` started on yet)."""
    from opsloop.core import migrate

    if migrate.pending(db.engine) and hasattr(os, "fork"):
        return DatabaseSetup.forked(db, work)
    return DatabaseSetup.here(work)


class DatabaseSetup:
    """The outcome of the set-up work: run here, or in a forked child until ``result``."""

    def __init__(self, created: dict[str, str] | None = None, child: tuple[int, int] | None = None):
        self._created = created or {}
        self._child = child

    @classmethod
    def here(cls, work: Work) -> DatabaseSetup:
        return cls(created=work())

    @classmethod
    def forked(cls, db: Database, work: Work) -> DatabaseSetup:
        # The child opens its own connections; neither process may use a pooled one of the
        # other's.
        db.dispose()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which leaves through os._exit
            os.close(read_end)
            _run_in_child(work, write_end)
        os.close(write_end)
        return cls(child=(pid, read_end))

    @property
    def in_child(self) -> bool:
        return self._child is not None

    def result(self) -> dict[str, str]:
        """The passwords generated, by username, once the work is done; exits with the
        child's status if it failed (it has reported why)."""
        if self._child is None:
            return self._created
        pid, read_end = self._child
        self._child = None
        with os.fdopen(read_end, "rb") as pipe:
            report = pipe.read()
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise typer.Exit(code if code > 0 else 128 - code)
        self._created = json.loads(report) if report else {}
        return self._created


def _run_in_child(work: Work, write_end: int) -> None:  # pragma: no cover - see forked()
    code = 1
    try:
        with reported_errors():
            created = work()
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(json.dumps(created).encode())
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception:
        logging.getLogger(__name__).exception("setting up the database failed")
    finally:
        # os._exit skips the buffers' flush (and the parent's exit handlers, which are not
        # this process's to run).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
