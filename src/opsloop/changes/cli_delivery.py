"""``opsloop change record|dora|compliance|evidence``: record a deployment from a pipeline,
DORA's four keys, the compliance report (exit 1 when a change broke a rule) and the evidence
export with its check."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from opsloop.changes import compliance_report, dora, evidence, recording
from opsloop.changes import dora_math as dm
from opsloop.changes.delivery_schemas import DoraOut, FindingOut, RecordedOut
from opsloop.changes.deps import policy_of
from opsloop.changes.dora import DoraRow
from opsloop.core import clock, periods
from opsloop.core.cliutil import cli_principal, console, database, fail, note, settings

SINCE_HELP = "30d, 12w, 24h back from now, or a date-time (UTC without a zone)."


def _time(text: str | None, option: str) -> datetime | None:
    return periods.moment(text, now=clock.now(), field=option) if text else None


def record(
    service: Annotated[str, typer.Option(help="A service of the catalog.")],
    version: Annotated[str, typer.Option(help="The version deployed.")],
    status: Annotated[str, typer.Option(help="completed or failed.")] = "completed",
    commit: Annotated[str | None, typer.Option(help="The commit SHA deployed.")] = None,
    committed_at: Annotated[
        str | None, typer.Option(metavar="TIME", help="When committed.")
    ] = None,
    started_at: Annotated[
        str | None, typer.Option(metavar="TIME", help="When it started (default: the finish).")
    ] = None,
    finished_at: Annotated[str | None, typer.Option(metavar="TIME", help="Default: now.")] = None,
    pipeline_run: Annotated[
        str | None, typer.Option(help="The CI run id: a retried step records nothing twice.")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Default: Deploy SERVICE VERSION.")] = None,
    category: Annotated[str, typer.Option(help="The change category.")] = "application",
    reason: Annotated[str, typer.Option(help="Why it failed.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record a deployment a pipeline ran, as a standard change finished at once."""
    with database().write() as session:
        found = recording.record_deployment(
            session,
            principal=cli_principal(),
            service=service,
            version=version,
            status=status,
            commit_sha=commit,
            committed_at=_time(committed_at, "--committed-at"),
            started_at=_time(started_at, "--started-at"),
            finished_at=_time(finished_at, "--finished-at"),
            pipeline_run=pipeline_run,
            title=title,
            category=category,
            reason=reason,
            policy=policy_of(settings()),
        )
    if as_json:
        console.print_json(json.dumps(RecordedOut.recorded(found).model_dump(mode="json")))
        return
    shown = "recorded" if found.created else "already recorded"
    console.print(
        f"{found.change.key} {found.change.state.value}: {found.change.title} ({shown})",
        markup=False,
    )
    for warning in found.warnings:
        note(f"warning: {warning}")


def _band(row: DoraRow, key: str) -> str:
    found = row.bands.get(key)
    return found.value if found else "—"


def dora_report(
    since: Annotated[str, typer.Option(help=SINCE_HELP)] = "90d",
    until: Annotated[str | None, typer.Option(help="Default: now.")] = None,
    by: Annotated[str, typer.Option(help="service, team, week or month.")] = "service",
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    team: Annotated[str | None, typer.Option(help="Only the services this team owns.")] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """DORA's four keys of changes finished in the period, with each key's band."""
    if output not in ("table", "json"):
        fail(f"--format: {output!r} is not one of table, json")
    start, end = periods.period(since, until, now=clock.now(), default=timedelta(days=90))
    with database().read() as session:
        report = dora.dora(session, since=start, until=end, by=by, service=service, team=team)
    if output == "json":
        console.print_json(json.dumps(DoraOut.of(report).model_dump(mode="json")))
        return
    table = Table(title=f"DORA keys {start:%Y-%m-%d} to {end:%Y-%m-%d} by {by}")
    for name in (by, "deploys/week", "lead time p50", "p90", "failure rate", "restore p50"):
        table.add_column(name, no_wrap=True)
    table.add_column("bands (freq/lead/cfr/restore)")
    for row in [*report.rows, report.total]:
        table.add_row(
            row.group,
            f"{row.deploys_per_week:.2f}",
            dm.shown_duration(row.lead_time_median),
            dm.shown_duration(row.lead_time_p90),
            f"{dm.shown_percent(row.failure_rate)} ({row.failures}/{row.finished})",
            dm.shown_duration(row.restore_median),
            " / ".join(
                _band(row, k)
                for k in (
                    "deployment_frequency",
                    "lead_time",
                    "change_failure_rate",
                    "time_to_restore",
                )
            ),
        )
    console.print(table)


def compliance(
    since: Annotated[str, typer.Option(help=SINCE_HELP)] = "30d",
    until: Annotated[str | None, typer.Option(help="Default: now.")] = None,
    require_cab_approval: Annotated[
        bool, typer.Option("--require-cab-approval", help="Standard changes need one too.")
    ] = False,
    require_rollback_plan: Annotated[
        bool, typer.Option("--require-rollback-plan", help="Every change needs one.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Changes started in the period that broke a rule; exits 1 if there is any."""
    start, end = periods.period(since, until, now=clock.now(), default=timedelta(days=30))
    with database().read() as session:
        found = compliance_report.compliance_report(
            session,
            since=start,
            until=end,
            require_cab_approval=require_cab_approval,
            require_rollback_plan=require_rollback_plan,
            policy=policy_of(settings()),
        )
    if as_json:
        console.print_json(json.dumps([FindingOut.of(f).model_dump(mode="json") for f in found]))
    elif not found:
        console.print(f"every change started {start:%Y-%m-%d} to {end:%Y-%m-%d} was compliant")
    else:
        for item in found:
            console.print(
                f"{item.key} {item.service} {item.model.value} started "
                f"{item.started_at:%Y-%m-%d %H:%M}: {item.title}",
                markup=False,
                soft_wrap=True,
            )
            for reason in item.reasons:
                console.print(f"  - {reason}", markup=False, soft_wrap=True)
    if found:
        raise typer.Exit(1)


def evidence_export(
    period: Annotated[str | None, typer.Option(metavar="YYYY-MM", help="A month.")] = None,
    since: Annotated[str | None, typer.Option(help=SINCE_HELP)] = None,
    until: Annotated[str | None, typer.Option(help="Default: now.")] = None,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="The directory to write.")] = None,
    verify: Annotated[
        Path | None, typer.Option("--verify", metavar="DIR", help="Check an export instead.")
    ] = None,
) -> None:
    """Write a period's changes, approvals, history and audit records (CSV, JSON and a
    SHA-256 manifest) to a directory, or check one with --verify (exit 1 if it changed)."""
    if verify is not None:
        problems = evidence.verify(verify)
        for problem in problems:
            console.print(problem, markup=False)
        if problems:
            raise typer.Exit(1)
        console.print(f"{verify}: every file matches the manifest", markup=False)
        return
    if out is None:
        fail("-o: give the directory to write the evidence to")
    if period and (since or until):
        fail("--period: give a month or --since/--until, not both")
    if period:
        start, end = evidence.month_period(period)
    elif since:
        start, end = periods.period(since, until, now=clock.now(), default=timedelta(days=30))
    else:
        fail("--period: give a month (YYYY-MM) or --since")
    with database().read() as session:
        files = evidence.export(session, since=start, until=end)
    evidence.write(files, out)
    rows = json.loads(files[evidence.MANIFEST])["files"]["changes.csv"]["rows"]
    console.print(f"{rows} changes, {len(files)} files written to {out}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("record")(record)
    app.command("dora")(dora_report)
    app.command("compliance")(compliance)
    app.command("evidence")(evidence_export)
