"""What every CLI command shares: settings, the database, the acting principal, one-line errors."""

from __future__ import annotations

import getpass
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from opsloop.core.auth.roles import Principal, Role
from opsloop.core.config import Settings, load_settings, mask_url_password
from opsloop.core.db import Database, is_sqlite
from opsloop.core.errors import Conflict, NotFound, OpsloopError

console = Console()
err_console = Console(stderr=True)

USAGE_EXIT = 2
#: The environment is not ready (no schema, database unreachable): not the user's input.
ENVIRONMENT_EXIT = 1


@cache
def settings() -> Settings:
    return load_settings()


def shown_url() -> str:
    return mask_url_password(settings().database_url)


@cache
def database() -> Database:
    """The database, refusing one that ``opsloop db upgrade`` never ran on.

    A SQLite file that does not exist is not created: pointing the CLI at the wrong data
    directory must not leave an empty database behind that ``serve`` would later pick up.
    """
    from opsloop.core import migrate

    url = settings().database_url
    missing_file = is_sqlite(url) and not _sqlite_file_exists(url)
    db = None if missing_file else Database(url, pool_size=2)
    current = migrate.current_revision(db.engine) if db else None
    head = migrate.head_revision()
    if current == head and db is not None:
        return db
    if db is not None:
        db.dispose()
    state = "has no opsloop schema" if current is None else f"is at revision {current}, not {head}"
    fail(f"the database {shown_url()} {state}; run 'opsloop db upgrade'", ENVIRONMENT_EXIT)


@cache
def unmigrated_database() -> Database:
    """The database as it is, created if need be: for ``db upgrade`` and ``serve``."""
    return Database(settings().database_url, pool_size=2)


def sqlite_file(url: str) -> Path | None:
    path = url.split(":///", 1)[-1]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path)


def _sqlite_file_exists(url: str) -> bool:
    path = sqlite_file(url)
    return path is None or path.is_file()


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


def note(message: str) -> None:
    """A remark for the person at the terminal, kept out of the output a script reads."""
    err_console.print(message, highlight=False, markup=False, soft_wrap=True)


def _commands(command: TyperCommand | TyperGroup) -> Iterator[TyperCommand | TyperGroup]:
    yield command
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            if isinstance(sub, TyperCommand | TyperGroup):
                yield from _commands(sub)


class _PlainArgument(TyperArgument):
    # Typer shows a required argument as "{name}" followed by its Python type ("<str>"),
    # which reads like an unfilled template; the metavar alone says it.
    def get_usage_pieces(self, ctx: Any) -> list[str]:
        return [self.display_name_raw + ("..." if self.nargs != 1 else "")]

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


_METAVARS = {"int": "INTEGER", "float": "NUMBER", "Path": "PATH"}


def command_for(app: typer.Typer) -> TyperCommand | TyperGroup:
    """The command behind ``app``, with help that shows metavars, not Python types.

    Typer labels every parameter with its annotation (``<bool>``, ``<list[str]>``); users want
    ``TEXT`` or ``FILE``, and nothing at all after a flag.
    """
    root = typer.main.get_command(app)
    assert isinstance(root, TyperCommand | TyperGroup)
    return _tidied(root)


class LazyGroup(TyperGroup):
    """A command group whose subgroups are imported when they are used: ``opsloop serve``
    need not import every domain's commands (and what they import) before it starts.
    Subclasses name them in ``lazy``: command name -> (module, attribute of its Typer app)."""

    lazy: ClassVar[dict[str, tuple[str, str]]] = {}

    # Any: Typer bundles its own click, whose types its stubs name privately.
    def list_commands(self, ctx: Any) -> list[str]:
        loaded = super().list_commands(ctx)
        return [*loaded, *(name for name in self.lazy if name not in loaded)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in self.lazy:
            return found
        module, attribute = self.lazy[cmd_name]
        sub = typer.main.get_command(getattr(importlib.import_module(module), attribute))
        assert isinstance(sub, TyperCommand | TyperGroup)
        sub.name = cmd_name
        self.add_command(_tidied(sub), cmd_name)
        return sub


def _tidied(root: TyperCommand | TyperGroup) -> TyperCommand | TyperGroup:
    for command in _commands(root):
        help_option = command.get_help_option(typer.Context(command))
        for param in [*command.params, *([help_option] if help_option else [])]:
            if isinstance(param, TyperArgument):
                param.__class__ = _PlainArgument
                if param.metavar is None:
                    param.metavar = (param.name or "value").upper()
            elif isinstance(param, TyperOption) and param.metavar is None:
                param.metavar = "" if param.is_flag else _METAVARS.get(param.bare_type(), "TEXT")
    return root


def run_cli(app: typer.Typer) -> None:
    """Run a Typer app so that users see one line and an exit code, never a traceback."""
    with reported_errors():
        result = command_for(app).main(prog_name="opsloop", standalone_mode=False)
    sys.exit(result if isinstance(result, int) else 0)


@contextmanager
def reported_errors() -> Iterator[None]:
    """A command's errors as one line and an exit code (through SystemExit)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        fail("aborted", 1)
    except typer.TyperException as exc:  # usage errors: show the usage line, exit 2
        exc.show()  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", USAGE_EXIT))
    except OpsloopError as exc:
        fail(_error_line(exc))
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        fail(f"database error ({shown_url()}): {first}", ENVIRONMENT_EXIT)
    except KeyboardInterrupt:
        sys.exit(130)


def _error_line(exc: OpsloopError) -> str:
    # A not-found message already names what is missing; "(slo)" after it only puzzles.
    if isinstance(exc, NotFound | Conflict) or not exc.field or exc.field in exc.message:
        return exc.message
    return f"{exc.message} ({exc.field})"
