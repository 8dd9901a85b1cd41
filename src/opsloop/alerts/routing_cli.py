"""``opsloop alerts route`` and ``opsloop alerts silence``: routing rules and Alertmanager
silences, through the same service functions as the API."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from opsloop.alerts import routing_rules, silences
from opsloop.alerts.alertmanager_client import AlertmanagerClient
from opsloop.alerts.routing_schemas import RuleOut, SilenceOut
from opsloop.core import clock
from opsloop.core.cliutil import cli_principal, console, database, fail, note, settings

route_app = typer.Typer(help="Routing rules: which alerts declare or join incidents.")
silence_app = typer.Typer(help="Silences in Alertmanager (OPSLOOP_ALERTMANAGER_URL).")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _rule_table(rules: list[RuleOut]) -> Table:
    table = Table("ID", "#", "NAME", "MATCHERS", "ACTION", "SEVERITY", "CONTINUE")
    for rule in rules:
        action = rule.action + (" (or declare)" if rule.fallback_declare else "")
        table.add_row(
            str(rule.id),
            str(rule.position),
            rule.name or "-",
            rule.matchers,
            action,
            rule.severity,
            "yes" if rule.continue_matching else "no",
        )
    return table


@route_app.command("list")
def list_routes(as_json: JsonFlag = False) -> None:
    """The routing rules, in the order they are tried."""
    with database().read() as session:
        rules = [RuleOut.of(r) for r in routing_rules.list_rules(session)]
    if as_json:
        console.print_json(json.dumps([r.model_dump(by_alias=True) for r in rules]))
        return
    console.print(_rule_table(rules))
    note(f"{len(rules)} rules")


@route_app.command("add")
def add_route(
    matchers: Annotated[str, typer.Argument(help="e.g. '{severity=~\"critical|high\"}'")],
    action: Annotated[str, typer.Option(help="declare or attach.")] = "declare",
    severity: Annotated[str, typer.Option(help="A declared incident's severity.")] = "SEV3",
    name: Annotated[str, typer.Option(help="A name to show.")] = "",
    fallback_declare: Annotated[
        bool, typer.Option("--fallback-declare", help="attach: declare if none is open.")
    ] = False,
    continue_matching: Annotated[
        bool, typer.Option("--continue", help="Try later rules if this one links nothing.")
    ] = False,
    position: Annotated[int | None, typer.Option(min=1, help="1 = tried first.")] = None,
) -> None:
    """Add a routing rule (last, unless --position)."""
    with database().write() as session:
        rule = routing_rules.add_rule(
            session,
            principal=cli_principal(),
            matchers=matchers,
            action=action,
            severity=severity,
            name=name,
            fallback_declare=fallback_declare,
            continue_matching=continue_matching,
            position=position,
        )
    note(f"routing rule {rule.id} added at position {rule.position}")


@route_app.command("edit")
def edit_route(
    rule_id: Annotated[int, typer.Argument(metavar="ID", min=1, help="The rule's id.")],
    matchers: Annotated[str | None, typer.Option(help="New matchers.")] = None,
    action: Annotated[str | None, typer.Option(help="declare or attach.")] = None,
    severity: Annotated[str | None, typer.Option(help="A declared incident's severity.")] = None,
    name: Annotated[str | None, typer.Option(help="A name to show.")] = None,
    fallback_declare: Annotated[
        bool | None,
        typer.Option(
            "--fallback-declare/--no-fallback-declare",
            help="attach rules: declare when nothing is open.",
        ),
    ] = None,
    continue_matching: Annotated[
        bool | None,
        typer.Option(
            "--continue/--no-continue", help="Try the next rules when this one links nothing."
        ),
    ] = None,
    position: Annotated[int | None, typer.Option(min=1, help="1 = tried first.")] = None,
) -> None:
    """Change a routing rule in place (it keeps its id and the incidents it declared)."""
    given = {
        "matchers": matchers,
        "action": action,
        "severity": severity,
        "name": name,
        "fallback_declare": fallback_declare,
        "continue": continue_matching,
        "position": position,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        fail("give at least one option to change")
    with database().write() as session:
        rule = routing_rules.update_rule(
            session, principal=cli_principal(), rule_id=rule_id, changes=changes
        )
    note(f"routing rule {rule.id} updated (position {rule.position})")


@route_app.command("delete")
def delete_route(
    rule_id: Annotated[int, typer.Argument(metavar="ID", min=1, help="The rule's id.")],
) -> None:
    """Delete a routing rule (alerts it routed keep their incident)."""
    with database().write() as session:
        routing_rules.delete_rule(session, principal=cli_principal(), rule_id=rule_id)
    note(f"routing rule {rule_id} deleted")


@route_app.command("test")
def test_route(
    labels: Annotated[str, typer.Argument(help="An alert's labels: 'service=api,severity=high'.")],
) -> None:
    """Which rule a label set matches (nothing is written)."""
    parsed = routing_rules.parse_labels(labels)
    with database().read() as session:
        matched = routing_rules.matching(routing_rules.list_rules(session), parsed)
    if not matched:
        note("no rule matches: the alert stays without an incident")
        return
    console.print(_rule_table([RuleOut.of(r) for r in matched]))
    first = matched[0]
    note(f"rule {first.id} matches first ({first.action.value})")


def _client() -> AlertmanagerClient:
    return AlertmanagerClient.from_settings(settings())


def _when(value: str, option: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: expected an ISO 8601 time such as 2026-11-02T09:00:00Z, got {value!r}")
    if parsed.tzinfo is None:
        fail(f"{option}: needs a time zone, e.g. Z")
    return parsed


def _duration(value: str) -> timedelta:
    units = {"m": 60, "h": 3600, "d": 86400}
    if len(value) < 2 or value[-1] not in units or not value[:-1].isdigit():
        fail(f"--for: a duration such as 30m, 2h or 1d, got {value!r}")
    return timedelta(seconds=int(value[:-1]) * units[value[-1]])


@silence_app.command("create")
def create(
    matchers: Annotated[
        list[str], typer.Argument(help="e.g. service=api 'severity=~\"low|info\"'")
    ],
    comment: Annotated[str, typer.Option(help="Why (required).")] = "",
    for_: Annotated[str | None, typer.Option("--for", help="How long: 30m, 2h, 1d.")] = None,
    starts: Annotated[str | None, typer.Option(help="Start (ISO 8601); default now.")] = None,
    ends: Annotated[str | None, typer.Option(help="End (ISO 8601).")] = None,
) -> None:
    """Create a silence in Alertmanager and record it."""
    if (for_ is None) == (ends is None):
        fail("give one of --for DURATION or --ends TIME")
    client = _client()
    start = _when(starts, "--starts") if starts else None
    end = _when(ends, "--ends") if ends else (start or clock.now()) + _duration(for_ or "")
    with database().write() as session:
        found = silences.create_silence(
            session,
            principal=cli_principal(),
            matchers=matchers,
            starts_at=start,
            ends_at=end,
            comment=comment,
            alertmanager=client,
        )
    note(f"silence {found.id} created (Alertmanager {found.alertmanager_id}) until {found.ends_at}")


@silence_app.command("list")
def list_silences(
    include_expired: Annotated[bool, typer.Option("--all", help="Expired ones too.")] = False,
    live: Annotated[bool, typer.Option("--live", help="Ask Alertmanager for each state.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Silences created through opsloop, newest first."""
    client = _client() if live else None
    with database().read() as session:
        found = silences.list_silences(
            session, include_expired=include_expired, alertmanager=client
        )
    rows = [SilenceOut.of(s) for s in found]
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table("ID", "STATE", "MATCHERS", "ENDS", "BY", "COMMENT")
    for row in rows:
        shown: str = row.state
        if row.alertmanager_state and row.alertmanager_state != row.state:
            shown += f" (Alertmanager: {row.alertmanager_state})"
        table.add_row(
            str(row.id),
            shown,
            ", ".join(row.matchers),
            row.ends_at.strftime("%Y-%m-%d %H:%M"),
            row.created_by,
            row.comment,
        )
    console.print(table)
    note(f"{len(rows)} silences")


@silence_app.command("expire")
def expire(
    silence_id: Annotated[int, typer.Argument(metavar="ID", min=1, help="The silence's id.")],
) -> None:
    """End a silence now, in Alertmanager and here."""
    client = _client()
    with database().write() as session:
        silences.expire_silence(
            session, principal=cli_principal(), silence_id=silence_id, alertmanager=client
        )
    note(f"silence {silence_id} expired")
