"""``opsloop reliability``: the reliability figures of the incidents, grouped, as a table,
JSON or CSV (durations in seconds)."""

from __future__ import annotations

import csv
import sys
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from opsloop.core import clock, periods
from opsloop.core.cliutil import console, database, fail, note, settings
from opsloop.incidents import reliability
from opsloop.incidents.cli_format import print_json
from opsloop.incidents.reliability_out import COLUMNS, ReportOut, flat_row, human, met_text
from opsloop.incidents.rules import parse_severity

reliability_app = typer.Typer(help="Reliability figures of the incidents.", add_completion=False)
FORMATS = ("table", "json", "csv")


def parse_moment(text: str, option: str) -> datetime:
    """``30d``, ``12h`` or ``8w`` before now, or an ISO 8601 time (UTC without a zone)."""
    return periods.moment(text, now=clock.now(), field=option)


def targets() -> reliability.Targets:
    configured = settings()
    return reliability.Targets(
        mttr=timedelta(hours=configured.reliability_mttr_target_hours),
        mtbf=timedelta(hours=configured.reliability_mtbf_target_hours),
    )


@reliability_app.command("reliability")
def show(
    since: Annotated[
        str, typer.Option(metavar="WHEN", help="Incidents started since: 30d, 12h, 8w or a time.")
    ] = "30d",
    until: Annotated[
        str | None, typer.Option(metavar="WHEN", help="... and before (default: now).")
    ] = None,
    by: Annotated[str, typer.Option(help="service, severity, team, week or month.")] = "service",
    service: Annotated[str | None, typer.Option(help="Only this service's incidents.")] = None,
    team: Annotated[str | None, typer.Option(help="Only incidents of the team's services.")] = None,
    severity: Annotated[str | None, typer.Option(help="Only this severity.")] = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Reliability figures of the incidents, per service, severity, team, week or month.

    MTTD, MTTA, MTTM and MTTR (mean, median, p90), incidents, outage, MTBF and availability per
    group, and whether the MTTR and MTBF targets are met."""
    if output not in FORMATS:
        fail(f"--format: use one of {', '.join(FORMATS)}")
    if by not in reliability.GROUPINGS:
        fail(f"--by: use one of {', '.join(reliability.GROUPINGS)}")
    start = parse_moment(since, "--since")
    end = parse_moment(until, "--until") if until else None
    with database().read() as session:
        found = reliability.report(
            session,
            by=by,
            since=start,
            until=end,
            service=service,
            team=team,
            severity=parse_severity(severity, field="--severity") if severity else None,
            targets=targets(),
        )
    if output == "json":
        print_json(console, ReportOut.of(found).model_dump(mode="json"))
        return
    if output == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([by, *COLUMNS[1:]])
        writer.writerows(flat_row(g, seconds=True) for g in found.groups)
        return
    _table(found)


def _table(found: reliability.Report) -> None:
    period = f"{found.since:%Y-%m-%d %H:%M} to {found.until:%Y-%m-%d %H:%M} UTC"
    goals = f"MTTR < {human(found.targets.mttr)}, MTBF > {human(found.targets.mtbf)}"
    note(f"incidents started {period}, by {found.by}; targets {goals}")
    if not found.groups:
        note("no incidents in this period")
        return
    # The full set of columns is in --format json and csv; the table keeps what fits a terminal.
    table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, header_style="bold")
    table.add_column("GROUP", no_wrap=True)
    for column in (
        "INC",
        "OPEN",
        "MTTA",
        "MTTR",
        "MTTR p90",
        "MTBF",
        "AVAIL",
        "MTTR GOAL",
        "MTBF GOAL",
    ):
        table.add_column(column, no_wrap=column in ("INC", "OPEN", "AVAIL"))
    for g in found.groups:
        table.add_row(
            g.group,
            str(g.incidents),
            str(g.open),
            human(g.mtta.mean),
            human(g.mttr.mean),
            human(g.mttr.p90),
            human(g.mtbf),
            f"{g.availability * 100:.2f}%",
            met_text(g.mttr_met),
            met_text(g.mtbf_met),
        )
    console.print(table)
