"""``opsloop incident``: declare and run incidents from a terminal, as the API does."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from opsloop.core import clock
from opsloop.core.cliutil import cli_principal, console, database, fail, note, settings
from opsloop.incidents import from_slos, lifecycle
from opsloop.incidents import service as incidents
from opsloop.incidents.cli_format import (
    badges,
    parse_time,
    print_event,
    print_incident,
    print_json,
    when,
)
from opsloop.incidents.cli_templates import template_app
from opsloop.incidents.resolution import parse_record
from opsloop.incidents.rules import Severity, Status, parse_severity, response_targets
from opsloop.incidents.schemas import EventOut, IncidentOut, IncidentRow
from opsloop.incidents.vocabulary import Audience, DetectionMethod, EventKind, parse_choice

incident_app = typer.Typer(help="Incidents: declare, respond, resolve.", no_args_is_help=True)
incident_app.add_typer(template_app, name="template")

KeyArg = Annotated[str, typer.Argument(metavar="KEY", help="INC-YYYY-NNN")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Services = Annotated[
    list[str] | None, typer.Option("--service", help="An affected service; repeatable.")
]
Features = Annotated[
    list[str] | None, typer.Option("--feature", help="A feature impacted; repeatable.")
]


def _person(role: str) -> Any:
    return typer.Option(help=f"The {role} (an opsloop username).")


def _time(what: str) -> Any:
    return typer.Option(metavar="TIME", help=f"{what} (ISO 8601; UTC without a zone).")


def _targets() -> dict[Severity, Any]:
    return response_targets(settings().incident_response_targets)


def _show(found: Any, as_json: bool) -> None:
    if as_json:
        print_json(console, IncidentOut.of(found, _targets()).model_dump(mode="json"))
    else:
        print_incident(console, found)


@incident_app.command("declare")
def declare(
    title: Annotated[str, typer.Argument(metavar="TITLE", help="What is broken, in a line.")],
    severity: Annotated[str, typer.Option(help="SEV1 to SEV4.")],
    summary: Annotated[str, typer.Option(help="What is happening.")] = "",
    service: Services = None,
    slo: Annotated[list[str] | None, typer.Option(help="service/name; repeatable.")] = None,
    detected_by: Annotated[str, typer.Option(help="alert, user_report, monitoring, other.")] = (
        "other"
    ),
    commander: Annotated[str | None, _person("incident commander")] = None,
    comms_lead: Annotated[str | None, _person("communications lead")] = None,
    scribe: Annotated[str | None, _person("scribe")] = None,
    users_affected: Annotated[
        int | None, typer.Option(min=0, help="How many users are affected.")
    ] = None,
    feature: Features = None,
    revenue_impact: Annotated[str, typer.Option(help="In words.")] = "",
    started: Annotated[str | None, _time("When it started")] = None,
    detected: Annotated[str | None, _time("When it was detected")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Declare an incident (audited); prints its key."""
    with database().write() as session:
        found = incidents.declare(
            session,
            principal=cli_principal(),
            title=title,
            severity=parse_severity(severity, field="--severity"),
            summary=summary,
            services=service or [],
            slos=slo or [],
            detection_method=parse_choice(DetectionMethod, detected_by, "--detected-by"),
            commander=commander,
            communications_lead=comms_lead,
            scribe=scribe,
            users_affected=users_affected,
            features_impacted=feature or [],
            revenue_impact=revenue_impact,
            started_at=parse_time(started, "--started") if started else None,
            detected_at=parse_time(detected, "--detected") if detected else None,
            targets=_targets(),
        )
    if as_json:
        _show(found, True)
    else:
        console.print(f"declared {found.key} ({found.severity.value}): {found.title}", markup=False)


@incident_app.command("update")
def update(
    key: KeyArg,
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    summary: Annotated[str | None, typer.Option(help="A new summary.")] = None,
    severity: Annotated[str | None, typer.Option(help="SEV1 to SEV4.")] = None,
    detected_by: Annotated[
        str | None, typer.Option(help="alert, user_report, monitoring or other.")
    ] = None,
    commander: Annotated[str | None, typer.Option(help="A user; '' clears.")] = None,
    comms_lead: Annotated[str | None, typer.Option(help="A user; '' clears.")] = None,
    scribe: Annotated[str | None, typer.Option(help="A user; '' clears.")] = None,
    service: Annotated[
        list[str] | None, typer.Option(help="Replaces the list; repeatable.")
    ] = None,
    slo: Annotated[list[str] | None, typer.Option(help="Replaces the list; repeatable.")] = None,
    users_affected: Annotated[
        int | None, typer.Option(min=0, help="How many users are affected.")
    ] = None,
    feature: Annotated[
        list[str] | None, typer.Option(help="Replaces the list; repeatable.")
    ] = None,
    revenue_impact: Annotated[str | None, typer.Option(help="In words.")] = None,
    caused_by: Annotated[
        str | None, typer.Option(help="The change (CR-YYYY-NNN) that caused it; '' clears.")
    ] = None,
    started: Annotated[str | None, _time("When it started")] = None,
    detected: Annotated[str | None, _time("When it was detected")] = None,
    acknowledged: Annotated[str | None, _time("When it was acknowledged")] = None,
    mitigated: Annotated[str | None, _time("When it was mitigated")] = None,
    resolved: Annotated[str | None, _time("When it was resolved")] = None,
    closed: Annotated[str | None, _time("When it was closed")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Edit fields (each change audited and on the timeline)."""
    given: dict[str, Any] = {
        "title": title,
        "summary": summary,
        "severity": parse_severity(severity, field="--severity") if severity else None,
        "detection_method": (
            parse_choice(DetectionMethod, detected_by, "--detected-by") if detected_by else None
        ),
        "commander": commander,
        "communications_lead": comms_lead,
        "scribe": scribe,
        "services": service,
        "slos": slo,
        "users_affected": users_affected,
        "features_impacted": feature,
        "revenue_impact": revenue_impact,
        "caused_by_change": caused_by,
    }
    times = {
        "started_at": (started, "--started"),
        "detected_at": (detected, "--detected"),
        "acknowledged_at": (acknowledged, "--acknowledged"),
        "mitigated_at": (mitigated, "--mitigated"),
        "resolved_at": (resolved, "--resolved"),
        "closed_at": (closed, "--closed"),
    }
    given.update({name: parse_time(v, opt) for name, (v, opt) in times.items() if v})
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        note("nothing to change; see --help for the fields")
        raise typer.Exit(2)
    with database().write() as session:
        found = incidents.update_incident(
            session, principal=cli_principal(), key=key, changes=changes, targets=_targets()
        )
    if as_json:
        _show(found, True)
    else:
        console.print(f"updated {found.key}")


@incident_app.command("status")
def status(
    key: KeyArg,
    to: Annotated[str, typer.Argument(metavar="STATUS", help=", ".join(s.value for s in Status))],
    note_text: Annotated[str, typer.Option("--note", help="Why, on the timeline.")] = "",
) -> None:
    """Move the status forward (skipping is fine) or reopen a resolved or closed incident."""
    with database().write() as session:
        found = lifecycle.change_status(
            session,
            principal=cli_principal(),
            key=key,
            status=parse_choice(Status, to, "STATUS"),
            note=note_text,
            targets=_targets(),
        )
    console.print(f"{found.key} is {found.status.value}")


@incident_app.command("ack")
def ack(key: KeyArg) -> None:
    """Acknowledge: the response target is measured to now."""
    with database().write() as session:
        found = lifecycle.acknowledge(
            session, principal=cli_principal(), key=key, targets=_targets()
        )
    console.print(f"acknowledged {found.key} at {when(found.acknowledged_at)} UTC")


@incident_app.command("resolve")
def resolve(
    key: KeyArg,
    root_cause: Annotated[str | None, typer.Option(help="The root cause.")] = None,
    contributing: Annotated[
        list[str] | None, typer.Option(help="A contributing factor; repeatable.")
    ] = None,
    fix: Annotated[str | None, typer.Option(help="The fix applied.")] = None,
    service_restored: Annotated[
        bool, typer.Option("--service-restored", help="Verified: the service is restored.")
    ] = False,
    metrics_normalised: Annotated[
        bool, typer.Option("--metrics-normalised", help="Verified: metrics are back to normal.")
    ] = False,
    user_confirmation: Annotated[
        bool, typer.Option("--user-confirmation", help="Verified: users confirmed it works.")
    ] = False,
    note_text: Annotated[str, typer.Option("--note", help="On the timeline.")] = "",
) -> None:
    """Move to resolved, filling in the resolution record with what is given."""
    with database().write() as session:
        current = incidents.get_incident(session, key=key)
        record = current.resolution.model_dump(mode="json")
        if root_cause is not None:
            record["diagnosis"]["root_cause"] = root_cause
        if contributing:
            record["diagnosis"]["contributing_factors"] = contributing
        if fix is not None:
            record["resolution"]["fix_applied"] = fix
        checks = record["verification"]
        checks["service_restored"] |= service_restored
        checks["metrics_normalised"] |= metrics_normalised
        checks["user_confirmation"] |= user_confirmation
        principal = cli_principal()
        lifecycle.set_resolution(session, principal=principal, key=key, record=parse_record(record))
        found = lifecycle.change_status(
            session, principal=principal, key=key, status=Status.resolved, note=note_text
        )
    console.print(f"{found.key} is resolved at {when(found.resolved_at)} UTC")


@incident_app.command("list")
def list_incidents(
    status: Annotated[str | None, typer.Option(help="A status, or open.")] = None,
    severity: Annotated[str | None, typer.Option(help="SEV1 to SEV4.")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service's.")] = None,
    team: Annotated[str | None, typer.Option(help="Only services this team owns.")] = None,
    since: Annotated[str | None, _time("Started at or after")] = None,
    until: Annotated[str | None, _time("Started before")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Incidents, newest first, with late-response and overdue-update badges."""
    flt = incidents.IncidentFilter(
        status=parse_choice(Status, status, "--status") if status and status != "open" else None,
        open_only=status == "open",
        severity=parse_severity(severity, field="--severity") if severity else None,
        service=service,
        team=team,
        since=parse_time(since, "--since") if since else None,
        until=parse_time(until, "--until") if until else None,
    )
    targets = _targets()
    with database().read() as session:
        found = incidents.list_incidents(session, flt=flt, limit=limit, targets=targets)
    if as_json:
        print_json(console, [IncidentRow.of(i, targets).model_dump(mode="json") for i in found])
        return
    if not found:
        note("no incidents match" if flt != incidents.IncidentFilter() else "no incidents yet")
        return
    table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, header_style="bold")
    for column in ("KEY", "SEV", "STATUS", "STARTED", "SERVICES", "TITLE", "FLAGS"):
        table.add_column(column)
    for i in found:
        table.add_row(
            i.key,
            i.severity.value,
            i.status.value,
            when(i.started_at),
            ", ".join(i.services) or "-",
            i.title,
            badges(i),
        )
    console.print(table)


@incident_app.command("show")
def show(key: KeyArg, as_json: JsonFlag = False) -> None:
    """One incident: fields, roles, times, response and update state, resolution."""
    with database().read() as session:
        found = incidents.get_incident(session, key=key, targets=_targets())
    _show(found, as_json)


@incident_app.command("timeline")
def timeline(
    key: KeyArg,
    add: Annotated[str | None, typer.Option(metavar="TEXT", help="Add an event.")] = None,
    kind: Annotated[str, typer.Option(help="Kind of the added event.")] = "note",
    at: Annotated[str | None, _time("When the added event happened")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Print the timeline, or add an event to it with --add."""
    if add is not None:
        with database().write() as session:
            lifecycle.add_event(
                session,
                principal=cli_principal(),
                key=key,
                kind=parse_choice(EventKind, kind, "--kind"),
                text=add,
                at=parse_time(at, "--at") if at else None,
            )
    with database().read() as session:
        events = lifecycle.timeline_of(session, key=key)
    if as_json:
        print_json(console, [EventOut.of(e).model_dump(mode="json") for e in events])
        return
    for event in events:
        print_event(console, event)


@incident_app.command("post-update")
def post_update(
    key: KeyArg,
    text: Annotated[str | None, typer.Option(help="The update; default: the template.")] = None,
    template: Annotated[
        str | None, typer.Option(help="investigating, identified, monitoring or resolved.")
    ] = None,
    audience: Annotated[str, typer.Option(help="internal or external.")] = "internal",
    next_update_minutes: Annotated[
        int | None,
        typer.Option(min=1, max=7 * 24 * 60, help="Minutes until the next update is due."),
    ] = None,
) -> None:
    """Post a status update; it promises the next one (default: the severity's interval)."""
    next_at = None
    if next_update_minutes is not None:
        next_at = clock.now() + next_update_minutes * clock.MINUTE
    with database().write() as session:
        event = lifecycle.post_update(
            session,
            principal=cli_principal(),
            key=key,
            audience=parse_choice(Audience, audience, "--audience"),
            text=text,
            template=template,
            next_update_at=next_at,
            targets=_targets(),
        )
    console.print(event.text, markup=False, highlight=False)
    if event.next_update_at:
        note(f"next update due {when(event.next_update_at)} UTC")


@incident_app.command("auto-declare")
def auto_declare(
    service: Annotated[str, typer.Argument(metavar="SERVICE", help="A service in the catalog.")],
    on: Annotated[bool, typer.Option("--on", help="Declare on this service's SLO pages.")] = False,
    off: Annotated[bool, typer.Option("--off", help="Never declare by itself.")] = False,
    default: Annotated[
        bool, typer.Option("--default", help="Follow the service's tier (tier 1: on).")
    ] = False,
) -> None:
    """Show or set whether a service's SLO page alerts declare a SEV2 incident by themselves."""
    flags = (("--on", on), ("--off", off), ("--default", default))
    chosen = [flag for flag, given in flags if given]
    if len(chosen) > 1:
        fail(f"{' and '.join(chosen)}: give at most one")
    if chosen:
        wanted = None if default else on
        with database().write() as session:
            state = from_slos.set_auto_declare(
                session, principal=cli_principal(), service=service, enabled=wanted
            )
    else:
        with database().read() as session:
            state = from_slos.auto_declare_state(session, service=service)
    how = "set for the service" if state.overridden else "the tier's default"
    verb = "declare" if state.enabled else "do not declare"
    console.print(f"{service}: SLO pages {verb} incidents ({how})", markup=False)
