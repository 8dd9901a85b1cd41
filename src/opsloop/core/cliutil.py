"""What every CLI command shares: settings, the database, the acting principal, one-line errors."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from functools import cache
from typing import NoReturn

import typer
from rich.console import Console

from opsloop.core.auth.roles import Principal, Role
from opsloop.core.config import Settings, load_settings
from opsloop.core.db import Database
from opsloop.core.errors import OpsloopError

console = Console()
err_console = Console(stderr=True)

USAGE_EXIT = 2


@cache
def settings() -> Settings:
    return load_settings()


@cache
def database() -> Database:
    return Database(settings().database_url, pool_size=2)


def cli_principal() -> Principal:
    """Whoever can run the CLI on the server can already read the database, so the CLI acts
    with admin rights; the audit trail records the operating-system user behind it."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Principal(actor=f"cli:{who}", role=Role.admin)


def fail(message: str, code: int = USAGE_EXIT) -> NoReturn:
    err_console.print(f"error: {message}", highlight=False, markup=False, soft_wrap=True)
    sys.exit(code)


def run_cli(app: Callable[..., object]) -> None:
    """Run a Typer app so that users see one line and an exit code, never a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        result = app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        fail("aborted", 1)
    except typer.TyperException as exc:  # usage errors: show the usage line, exit 2
        exc.show()  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", USAGE_EXIT))
    except OpsloopError as exc:
        where = f" ({exc.field})" if exc.field and exc.field not in exc.message else ""
        fail(f"{exc.message}{where}")
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        fail(f"database error: {first}", 1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
