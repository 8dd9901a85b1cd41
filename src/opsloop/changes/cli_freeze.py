"""``opsloop freeze``: declare, list and remove freeze periods, as the API does."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from opsloop.changes import freezes
from opsloop.changes.cli import TIME_HELP, JsonFlag, parse_time, when
from opsloop.changes.schemas import FreezeOut
from opsloop.core import clock
from opsloop.core.cliutil import cli_principal, console, database, note

freeze_app = typer.Typer(help="Freeze periods no change is scheduled into.", no_args_is_help=True)


@freeze_app.command("add")
def freeze_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="What the freeze is for.")],
    start: Annotated[str, typer.Option(metavar="TIME", help=TIME_HELP)],
    end: Annotated[str, typer.Option(metavar="TIME", help=TIME_HELP)],
    service: Annotated[str | None, typer.Option(help="Only this service (default: all).")] = None,
    reason: Annotated[str, typer.Option(help="Why changes must wait.")] = "",
) -> None:
    """Declare a freeze period."""
    with database().write() as session:
        found = freezes.create_freeze(
            session,
            principal=cli_principal(),
            name=name,
            starts_at=parse_time(start, "--start"),
            ends_at=parse_time(end, "--end"),
            service=service,
            reason=reason,
        )
    console.print(f"freeze {found.id}: {found.describe()}", markup=False)


@freeze_app.command("list")
def freeze_list(
    service: Annotated[str | None, typer.Option(help="Its own and the global ones.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Freezes not yet over, earliest first."""
    with database().read() as session:
        from_now = clock.now()
        found = freezes.list_freezes(session, since=from_now, service=service)
    if as_json:
        console.print_json(json.dumps([FreezeOut.of(f).model_dump(mode="json") for f in found]))
        return
    if not found:
        note("no freezes ahead")
        return
    table = Table("id", "name", "service", "start (UTC)", "end (UTC)", "reason")
    for f in found:
        table.add_row(
            str(f.id), f.name, f.service or "all", when(f.starts_at), when(f.ends_at), f.reason
        )
    console.print(table)


@freeze_app.command("delete")
def freeze_delete(
    freeze_id: Annotated[int, typer.Argument(metavar="ID", min=1, help="The freeze's id.")],
) -> None:
    """Remove a freeze."""
    with database().write() as session:
        freezes.delete_freeze(session, principal=cli_principal(), freeze_id=freeze_id)
    console.print(f"freeze {freeze_id} deleted")
