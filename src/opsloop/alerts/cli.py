"""``opsloop alerts``: alert instances from the terminal, through the same service functions
as the API. Bad input: one ``error:`` line, exit 2, nothing changed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from opsloop.alerts import service as alerts
from opsloop.alerts.cli_review import review_command
from opsloop.alerts.models import AlertStatus, Feedback
from opsloop.alerts.schemas import AlertOut
from opsloop.core.cliutil import cli_principal, console, database, fail, note
from opsloop.incidents import lookup

alerts_app = typer.Typer(help="Alerts received from Alertmanager.", no_args_is_help=True)
IdArg = Annotated[int, typer.Argument(metavar="ID", min=1, help="The alert's id.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
alerts_app.command("review")(review_command)


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: expected an ISO 8601 time such as 2026-11-02T09:00:00Z, got {value!r}")
    if parsed.tzinfo is None:
        fail(f"{option}: needs a time zone, e.g. Z")
    return parsed


def _short(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _print(out: AlertOut) -> None:
    console.print_json(out.model_dump_json())


@alerts_app.command("list")
def list_alerts(
    status: Annotated[AlertStatus | None, typer.Option(help="firing or resolved.")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service's alerts.")] = None,
    severity: Annotated[str | None, typer.Option(help="Only this severity.")] = None,
    name: Annotated[str | None, typer.Option(help="Only alerts of this alertname.")] = None,
    since: Annotated[str | None, typer.Option(help="Started at or after (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Started before (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Alert instances, newest first."""
    flt = alerts.AlertFilter(
        status, service, severity, name, _when(since, "--since"), _when(until, "--until")
    )
    with database().read() as session:
        rows = [AlertOut.of(a) for a in alerts.list_alerts(session, flt=flt, limit=limit)]
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table("ID", "STATUS", "SEVERITY", "NAME", "SERVICE", "STARTED", "ACKED BY")
    for row in rows:
        table.add_row(
            str(row.id),
            row.status.value,
            row.severity or "-",
            row.name,
            row.service or "-",
            _short(row.starts_at),
            row.acked_by or "-",
        )
    console.print(table)
    note(f"{len(rows)} alerts")


@alerts_app.command("show")
def show(alert_id: IdArg, as_json: JsonFlag = False) -> None:
    """One alert instance: labels, annotations, runbook, acknowledgement and feedback."""
    with database().read() as session:
        out = AlertOut.of(alerts.get_alert(session, alert_id=alert_id))
        incident = lookup.refs_by_id(session, [out.incident_id] if out.incident_id else [])
    if as_json:
        _print(out)
        return
    lines = [
        f"alert {out.id}: {out.name} ({out.status.value}, severity {out.severity or '-'})",
        f"service: {out.service or '-'}" + (f"   slo: {out.slo_id}" if out.slo_id else ""),
        f"started: {_short(out.starts_at)}   ended: {_short(out.ends_at)}",
        f"respond by: {_short(out.respond_by)}   escalated: {_short(out.escalated_at)}",
        f"acknowledged: {_short(out.acked_at)} {out.acked_by or ''}".rstrip(),
        f"feedback: {out.feedback.value if out.feedback else '-'} {out.feedback_action or ''}",
        f"runbook: {out.runbook_url or '-'}",
        "incident: " + (incident[out.incident_id].key if out.incident_id in incident else "-"),
        f"fingerprint: {out.fingerprint}",
        "labels: " + ", ".join(f"{k}={v}" for k, v in sorted(out.labels.items())),
    ]
    lines += [f"{key}: {value}" for key, value in sorted(out.annotations.items())]
    for line in lines:
        console.print(line.rstrip(), highlight=False, markup=False, soft_wrap=True)


@alerts_app.command("ack")
def ack(alert_id: IdArg) -> None:
    """Acknowledge an alert instance (recorded with who and when)."""
    with database().write() as session:
        alert = alerts.acknowledge(session, principal=cli_principal(), alert_id=alert_id)
        note(f"alert {alert.id} acknowledged by {alert.acked_by}")


@alerts_app.command("feedback")
def feedback(
    alert_id: IdArg,
    actionable: Annotated[
        str | None, typer.Option("--actionable", metavar="ACTION", help="What was done.")
    ] = None,
    false_positive: Annotated[
        bool, typer.Option("--false-positive", help="Nothing needed doing.")
    ] = False,
) -> None:
    """Mark an alert instance actionable (with the action taken) or a false positive."""
    if (actionable is None) == (not false_positive):
        fail("give one of --actionable ACTION or --false-positive")
    verdict = Feedback.false_positive if false_positive else Feedback.actionable
    with database().write() as session:
        alerts.give_feedback(
            session,
            principal=cli_principal(),
            alert_id=alert_id,
            verdict=verdict,
            action=actionable or "",
        )
    note(f"alert {alert_id} marked {verdict.value.replace('_', ' ')}")


# Registered last: the routing commands live in their own module.
from opsloop.alerts.routing_cli import route_app, silence_app  # noqa: E402

alerts_app.add_typer(route_app, name="route", no_args_is_help=True)
alerts_app.add_typer(silence_app, name="silence", no_args_is_help=True)
