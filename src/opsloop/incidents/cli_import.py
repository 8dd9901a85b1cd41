"""``opsloop incident import``: historical incidents from a CSV file, all or nothing.

Registered onto the ``incident`` group here (its own module keeps incidents/cli.py small); the
CLI's lazy loader imports this module for ``opsloop incident``, so the command is always there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsloop.core.cliutil import cli_principal, console, database, fail, note
from opsloop.incidents import csv_import
from opsloop.incidents.cli import incident_app

__all__ = ["incident_app"]


@incident_app.command("import")
def import_incidents(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The CSV file ('-': stdin).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and report; write nothing.")
    ] = False,
) -> None:
    """Import past incidents from CSV (columns in docs/reliability.md). A bad row fails the
    whole import, naming its row and column; rows imported before are skipped."""
    if str(file) == "-":
        content = typer.get_text_stream("stdin").read()
    else:
        try:
            content = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"FILE: cannot read {str(file)!r}: {exc}")
    db = database()
    with db.read() if dry_run else db.write() as session:
        result = csv_import.import_csv(
            session,
            principal=cli_principal(),
            content=content,
            dry_run=dry_run,
            source=file.name,
        )
    verb = "would import" if dry_run else "imported"
    console.print(
        f"{verb} {result.created} incidents of {result.rows} rows "
        f"({result.skipped} imported before, skipped)"
    )
    if result.keys and not dry_run:
        note(f"keys {result.keys[0]} to {result.keys[-1]}")
