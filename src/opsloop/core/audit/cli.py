from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from opsloop.core.audit import service
from opsloop.core.cliutil import console, database, fail

audit = typer.Typer(help="Verify and export the tamper-evident audit trail.", no_args_is_help=True)

EXPORT_FIELDS = [
    "seq",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "changes",
    "request_id",
    "prev_hash",
    "hash",
]


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
            help="SEQ:HASH recorded earlier (see 'audit head'); also catches truncation",
        ),
    ] = None,
) -> None:
    """Exit 0 if the chain is intact, 1 naming the first bad record otherwise."""
    with database().read() as session:
        result = service.verify_chain(session)
        anchored = _check_anchor(session, anchor) if anchor and result.ok else ""
    if not result.ok:
        typer.echo(
            f"audit chain BROKEN at record {result.first_bad_seq}: {result.reason}", err=True
        )
        raise typer.Exit(1)
    if anchored:
        typer.echo(f"audit chain BROKEN: {anchored}", err=True)
        raise typer.Exit(1)
    print(f"audit chain intact: {result.checked} records, head {result.head_hash}")


def _check_anchor(session: Any, anchor: str) -> str:
    seq_text, _, expected = anchor.partition(":")
    if not (seq_text.isascii() and seq_text.isdigit()) or len(expected) != 64:
        fail("--anchor must look like SEQ:HASH with a 64-character hash")
    rows, _ = service.page(session, service.AuditFilter(), after_seq=int(seq_text) - 1, limit=1)
    if not rows or rows[0].seq != int(seq_text):
        return f"anchored record {seq_text} no longer exists (the chain was truncated)"
    if rows[0].hash != expected:
        return f"record {seq_text} has a different hash than anchored (the chain was rewritten)"
    return ""


@audit.command("head")
def head() -> None:
    """Print SEQ:HASH of the newest record, to keep outside opsloop as an anchor."""
    with database().read() as session:
        seq, digest = service.head(session)
    print(f"{seq}:{digest}")


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
        rows = (_export_row(r) for r in service.iterate(session, flt))
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
        writer = csv.DictWriter(stream, fieldnames=EXPORT_FIELDS)
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
