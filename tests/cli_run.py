"""Running ``opsloop`` as users do: a real process, its exit code and its output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsloop.core.db import Database

OPSLOOP = str(Path(sys.executable).parent / "opsloop")


def run(db: Database | None, *args: str, stdin: str | None = None, **env: str):  # type: ignore[no-untyped-def]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSLOOP_")}
    environ.pop("COLUMNS", None)
    if db is not None:
        environ["OPSLOOP_DATABASE_URL"] = db.url
    environ.update(env)
    return subprocess.run(
        [OPSLOOP, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def assert_clean_failure(result, code: int = 2) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


class Invoked:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.returncode, self.stdout, self.stderr = code, out, err


def invoke(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db: Database | None,
    *args: str,
    **env: str,
) -> Invoked:
    """``opsloop ARGS`` in this process (a process start costs seconds on a busy machine).

    It goes through the same entry point, so exit codes and the one-line errors are real.
    """
    from opsloop.cli import main
    from opsloop.core import cliutil

    for name in [k for k in os.environ if k.startswith("OPSLOOP_")]:
        monkeypatch.delenv(name)
    if db is not None:
        monkeypatch.setenv("OPSLOOP_DATABASE_URL", db.url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["opsloop", *args])
    caches = (cliutil.settings, cliutil.database, cliutil.unmigrated_database)
    for cached in caches:
        cached.cache_clear()
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        for made in (cliutil.database, cliutil.unmigrated_database):
            if made.cache_info().currsize:
                made().dispose()
            made.cache_clear()
        cliutil.settings.cache_clear()
    out, err = capsys.readouterr()
    return Invoked(code, out, err)
