"""Every command and option explains itself, in words users read, not Python type names."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
import typer
from typer.core import TyperArgument, TyperGroup

from opsloop.cli import app
from opsloop.core.cliutil import command_for
from tests.cli_run import run

# <bool>, <str>, <list[str]>, <int range>, {username}, ``reST``
LEAKS = re.compile(r"<[a-z][a-z_\[\] ]*>|list\[|\{[a-z_]+\}|``")


def _paths(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    yield path, command
    if isinstance(command, TyperGroup):
        # Through list/get_command, as click does: that loads the lazily imported groups.
        ctx = typer.Context(command)
        for name in command.list_commands(ctx):
            yield from _paths(command.get_command(ctx, name), (*path, name))


COMMANDS = list(_paths(command_for(app)))


def test_every_command_is_walked() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"slo status", "slo policy set", "user update", "token revoke", "db current"} <= names
    assert len(names) > 25


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "opsloop" for p, _ in COMMANDS]
)
def test_command_and_its_parameters_have_help(
    path: tuple[str, ...],
    command: object,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert getattr(command, "help", None), f"opsloop {' '.join(path)} has no help text"
    for param in getattr(command, "params", []):
        assert param.help, f"opsloop {' '.join(path)}: {param.name} has no help text"
        if isinstance(param, TyperArgument):
            assert param.metavar and param.metavar.isupper()
    monkeypatch.setenv("COLUMNS", "80")
    command_for(app).main([*path, "--help"], prog_name="opsloop", standalone_mode=False)
    shown = capsys.readouterr().out
    assert "Usage: opsloop" in shown
    leaked = LEAKS.findall(shown)
    assert not leaked, f"opsloop {' '.join(path)} --help shows {leaked}:\n{shown}"


def test_help_in_a_real_process_at_80_columns() -> None:
    result = run(None, "slo", "policy", "set", "--help", COLUMNS="80")
    assert result.returncode == 0
    assert "Usage: opsloop slo policy set [OPTIONS] SERVICE" in result.stdout
    assert not LEAKS.findall(result.stdout), result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines())


def test_core_commands_start_without_importing_the_domains_commands() -> None:
    """`opsloop serve` (and --version, db, user...) must not pay for every domain's commands."""
    code = (  # a fresh interpreter: this one has imported everything already
        "import sys\n"
        "from opsloop.core.cliutil import command_for\n"
        "from opsloop.cli import app\n"
        "command_for(app)\n"
        "cli = [m for m in sys.modules if m.startswith('opsloop.') and m.endswith('.cli')]\n"
        "loaded = sorted(cli)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "opsloop.cli,opsloop.core.audit.cli,opsloop.core.auth.cli"


def test_a_lazy_group_is_loaded_and_tidied_when_used() -> None:
    root = command_for(app)
    ctx = typer.Context(root)
    assert "incident" in root.list_commands(ctx)
    incident = root.get_command(ctx, "incident")
    assert isinstance(incident, TyperGroup) and "declare" in incident.commands
    assert "incident" in root.commands  # kept: the next lookup imports nothing
