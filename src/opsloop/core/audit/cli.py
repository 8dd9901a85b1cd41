from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from opsloop.core.audit import service, verification
from opsloop.core.audit.chain import FIELDS
from opsloop.core.cliutil import console, database, fail
from opsloop.core.errors import ValidationFailed

audit = typer.Typer(help="Verify and export the tamper-evident audit trail.", no_args_is_help=True)


def parse_time(value: str | None, option: str) -> datetime | None:
    """ISO 8601 date or date-time; a value without a zone is taken as UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO 8601 date or time (e.g. 2026-11-01T00:00:00Z)")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@audit.command("verify")
def verify(
    anchor: Annotated[
        str | None,
        typer.Option(
            metavar="SEQ:HASH",
            help="SEQ:HASH kept outside opsloop (see 'audit head'); catches truncation",
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Hash every record, not only those since the checkpoint")
    ] = False,
) -> None:
    """Exit 0 if the chain is intact, 1 naming the first bad record otherwise."""
    try:
        result = verification.chain_status(database(), full=full, anchor=anchor)
    except ValidationFailed as exc:
        fail(f"--{exc.field}: {exc.message}")
    if not result.ok:
        typer.echo(
            f"audit chain BROKEN at record {result.first_bad_seq}: {result.reason}", err=True
        )
        raise typer.Exit(1)
    since = f" ({result.walked} checked after record {result.from_seq})" if result.from_seq else ""
    print(f"audit chain intact: {result.checked} records{since}, head {result.head_hash}")


@audit.command("head")
def head(
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON object instead")] = False,
) -> None:
    """Print SEQ:HASH of the newest record, to keep outside opsloop as an anchor."""
    with database().read() as session:
        seq, digest = service.head(session)
    anchor = f"{seq}:{digest}"
    if as_json:
        print(json.dumps({"seq": seq, "hash": digest, "anchor": anchor}))
    else:
        print(anchor)


@audit.command("export")
def export(
    since: Annotated[
        str | None, typer.Option(metavar="TIME", help="From this ISO time (inclusive).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(metavar="TIME", help="Up to this ISO time (exclusive).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="csv or json")] = "json",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here instead of to stdout."),
    ] = None,
) -> None:
    """Export audit records for an auditor."""
    if fmt not in {"csv", "json"}:
        fail(f"--format must be csv or json, not {fmt!r}")
    flt = service.AuditFilter(
        since=parse_time(since, "--since"), until=parse_time(until, "--until")
    )
    with database().read() as session:
        rows = (_export_row(r) for r in service.iterate(session, flt=flt))
        if output is None:
            _write(rows, fmt, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as stream:
                count = _write(rows, fmt, stream)
            console.print(f"wrote {count} records to {output}")


def _export_row(row: Any) -> dict[str, Any]:
    data = service.to_dict(row)
    data["at"] = data["at"].isoformat()
    return data


def _write(rows: Any, fmt: str, stream: TextIO) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(stream, fieldnames=FIELDS)
        writer.writeheader()
        for row in rows:
            row["changes"] = json.dumps(row["changes"], sort_keys=True)
            writer.writerow(row)
            count += 1
        return count
    stream.write("[")
    for row in rows:
        stream.write(("," if count else "") + "\n  " + json.dumps(row, sort_keys=True))
        count += 1
    stream.write("\n]\n")
    return count
