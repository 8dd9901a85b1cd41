"""``opsloop service`` and ``opsloop team``: the catalog from the terminal, through the same
service functions as the API. Bad input: one ``error:`` line, exit 2, nothing changed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from opsloop.core.cliutil import cli_principal, console, database, fail, note
from opsloop.services import catalog_files, teams, usage
from opsloop.services import service as catalog
from opsloop.services.entries import Link, ServiceEntry, TeamEntry
from opsloop.services.exporting import FORMATS
from opsloop.services.vocabulary import UNOWNED, Lifecycle, tier_meaning

services_app = typer.Typer(help="The service catalog.", no_args_is_help=True)
teams_app = typer.Typer(help="Teams, their members and contact.", no_args_is_help=True)
members_app = typer.Typer(help="Members of a team.", no_args_is_help=True)
teams_app.add_typer(members_app, name="member")

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The service's name.")]
TeamArg = Annotated[str, typer.Argument(metavar="TEAM", help="The team's name.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _read(path: str) -> tuple[str, str]:
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    file = Path(path)
    if not file.is_file():
        fail(f"-f: no such file {path}")
    try:
        return file.read_text(encoding="utf-8"), path
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 text")


def _pairs(values: list[str], option: str) -> dict[str, str]:
    found = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            fail(f"{option}: expected NAME=VALUE, got {value!r}")
        found[key] = rest
    return found


def _confirmed(what: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        fail(f"not deleting {what} without confirmation; pass --yes")
    if not typer.confirm(f"Delete {what}?"):
        fail("nothing was deleted", 1)


def _print_json(value: Any) -> None:
    console.print_json(json.dumps(value, default=str))


@services_app.command("list")
def list_services(
    team: Annotated[str | None, typer.Option(help="Only this team's services.")] = None,
    tier: Annotated[int | None, typer.Option(min=1, max=4, help="Only this tier.")] = None,
    lifecycle: Annotated[Lifecycle | None, typer.Option(help="Only this lifecycle.")] = None,
    unowned: Annotated[
        bool, typer.Option("--unowned", help="Only services without owner.")
    ] = False,
    search: Annotated[str | None, typer.Option(help="Part of name or description.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Services in name order."""
    flt = catalog.ServiceFilter(
        team=team,
        tier=tier,
        lifecycle=lifecycle.value if lifecycle else None,
        q=search,
        unowned=unowned,
    )
    with database().read() as session:
        found = catalog.list_services(session, flt=flt, offset=0)
    if as_json:
        _print_json([{**s.fields(), "name": s.name, "origin": s.origin} for s in found])
        return
    if not found:
        note("no services match" if flt != catalog.ServiceFilter() else "the catalog is empty")
        return
    table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, header_style="bold")
    for column in ("SERVICE", "OWNER", "TIER", "LIFECYCLE", "ORIGIN"):
        table.add_column(column)
    for s in found:
        tier_text = str(s.tier) if s.tier else "-"
        table.add_row(s.name, s.owner_team or UNOWNED, tier_text, s.lifecycle, s.origin)
    console.print(table)


@services_app.command("show")
def show(name: NameArg, as_json: JsonFlag = False) -> None:
    """A service: owner, tier, lifecycle, links, labels and its SLOs' budget state."""
    with database().read() as session:
        found = catalog.get_service(session, name=name)
        state = usage.budget_state(session, name=name)
    if as_json:
        _print_json({**found.fields(), "name": name, "origin": found.origin, "budget": state})
        return
    console.print(f"{found.name}" + (f" ({found.display_name})" if found.display_name else ""))
    console.print(f"owner: {found.owner_team or UNOWNED}")
    console.print(f"tier: {found.tier or '-'} ({tier_meaning(found.tier)})")
    console.print(f"lifecycle: {found.lifecycle}; origin: {found.origin} {found.origin_source}")
    if found.description:
        console.print(found.description, markup=False)
    for link in found.links:
        console.print(f"link {link.name}: {link.url}", markup=False)
    for key, value in found.labels.items():
        console.print(f"label {key}={value}", markup=False)
    blocks = "blocks changes" if state["blocks_changes"] else "does not block changes"
    console.print(f"policy state: {state['state']} ({blocks})")
    for slo in state["slos"]:
        left = slo["budget_remaining"]
        shown = "no data" if left is None else f"{left * 100:.1f}% budget left"
        console.print(f"  SLO {name}/{slo['name']}: {slo['state']}, {shown}")


@services_app.command("create")
def create(
    name: NameArg,
    display_name: Annotated[str, typer.Option(help="For people.")] = "",
    description: Annotated[str, typer.Option(help="What it does.")] = "",
    owner: Annotated[str | None, typer.Option(help="An existing team.")] = None,
    tier: Annotated[int | None, typer.Option(help="1 (most critical) to 4.")] = None,
    lifecycle: Annotated[Lifecycle, typer.Option(help="Lifecycle.")] = Lifecycle.production,
    link: Annotated[list[str] | None, typer.Option(metavar="NAME=URL", help="Repeatable.")] = None,
    label: Annotated[
        list[str] | None, typer.Option(metavar="NAME=VALUE", help="Repeatable.")
    ] = None,
) -> None:
    """Add a service to the catalog (audited)."""
    entry = ServiceEntry(
        name=name,
        display_name=display_name,
        description=description,
        owner_team=owner,
        tier=tier,
        lifecycle=lifecycle.value,
        links=tuple(Link(k, v) for k, v in _pairs(link or [], "--link").items()),
        labels=_pairs(label or [], "--label"),
    )
    with database().write() as session:
        catalog.create_service(session, principal=cli_principal(), entry=entry)
    console.print(f"created service {name}")


@services_app.command("delete")
def delete(name: NameArg, yes: YesFlag = False) -> None:
    """Remove a service from the catalog; refused while SLOs use it."""
    with database().read() as session:
        catalog.get_service(session, name=name)
    _confirmed(f"service {name}", yes)
    with database().write() as session:
        usage.delete_service(session, principal=cli_principal(), name=name)
    console.print(f"deleted service {name}")


@services_app.command("apply")
def apply(
    files: Annotated[
        list[str],
        typer.Option("--file", "-f", metavar="FILE", help="YAML file, or - for stdin; repeatable"),
    ],
) -> None:
    """Create or update services and teams from opsloop, OpenSLO or Backstage YAML.

    All files are applied, or none."""
    texts = [_read(f) for f in files]
    for text, name in texts:
        catalog_files.read_catalog(text, name)  # every file is checked before any is applied
    with database().write() as session:
        summaries = [
            catalog_files.apply_catalog(session, principal=cli_principal(), text=t, source=n)
            for t, n in texts
        ]
    for summary in summaries:
        for entry in summary.applied:
            how = " (implicit owner)" if entry.implicit else ""
            console.print(f"{entry.kind}/{entry.name}: {entry.outcome}{how}", markup=False)
        for line in summary.skipped:
            console.print(f"skipped: {line}", markup=False)
        for line in summary.notes:
            note(f"note: {line}")
    counts = {o: sum(s.count(o) for s in summaries) for o in ("created", "updated", "unchanged")}
    skipped = sum(len(s.skipped) for s in summaries)
    note(", ".join(f"{n} {o}" for o, n in counts.items()) + f", {skipped} skipped")


@services_app.command("export")
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Instead of stdout.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help=" or ".join(FORMATS))] = (
        "opsloop"
    ),
) -> None:
    """The catalog (teams, then services) as YAML that service apply reads back."""
    with database().read() as session:
        text = catalog_files.export_catalog(session, fmt=fmt)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"-o: cannot write {output}: {exc.strerror}")
    note(f"wrote {output}")


@teams_app.command("list")
def list_teams(as_json: JsonFlag = False) -> None:
    """Teams in name order, with how many members and services each has."""
    with database().read() as session:
        found = sorted(teams.list_teams(session), key=lambda t: t.name)
        owned = {t.name: catalog.services_owned_by(session, team=t.name) for t in found}
    if as_json:
        _print_json([{**t.fields(), "name": t.name, "services": owned[t.name]} for t in found])
        return
    if not found:
        note("there are no teams yet")
        return
    for t in found:
        console.print(f"{t.name}: {len(t.members)} members, {len(owned[t.name])} services")


@teams_app.command("show")
def show_team(name: TeamArg, as_json: JsonFlag = False) -> None:
    """A team: contact, members and the services it owns."""
    with database().read() as session:
        found = teams.get_team(session, name=name)
        owned = catalog.services_owned_by(session, team=name)
    if as_json:
        _print_json({**found.fields(), "name": name, "services": owned})
        return
    console.print(name + (f" ({found.display_name})" if found.display_name else ""), markup=False)
    for label, value in (("chat", found.chat_channel), ("email", found.email)):
        if value:
            console.print(f"{label}: {value}", markup=False)
    for username, role in found.members.items():
        console.print(f"  {role}: {username}")
    console.print(f"owns: {', '.join(owned) or 'no services'}")


@teams_app.command("create")
def create_team(
    name: TeamArg,
    display_name: Annotated[str, typer.Option(help="For people.")] = "",
    description: Annotated[str, typer.Option(help="What the team does.")] = "",
    chat: Annotated[str, typer.Option(help="Chat channel, e.g. #payments.")] = "",
    email: Annotated[str, typer.Option(help="Contact address.")] = "",
    member: Annotated[
        list[str] | None, typer.Option(metavar="USER[=ROLE]", help="lead or member; repeatable.")
    ] = None,
) -> None:
    """Add a team (audited)."""
    members = {}
    for value in member or []:
        username, _, role = value.partition("=")
        members[username] = role or "member"
    entry = TeamEntry(
        name=name,
        display_name=display_name,
        description=description,
        chat_channel=chat,
        email=email,
        members=members,
    )
    with database().write() as session:
        teams.create_team(session, principal=cli_principal(), entry=entry)
    console.print(f"created team {name}")


@teams_app.command("delete")
def delete_team(name: TeamArg, yes: YesFlag = False) -> None:
    """Remove a team; refused while it owns services."""
    with database().read() as session:
        teams.get_team(session, name=name)
    _confirmed(f"team {name}", yes)
    with database().write() as session:
        teams.delete_team(session, principal=cli_principal(), name=name)
    console.print(f"deleted team {name}")


UserArg = Annotated[str, typer.Argument(metavar="USER", help="An opsloop username.")]


@members_app.command("add")
def add_member(
    team: TeamArg,
    username: UserArg,
    role: Annotated[str, typer.Option(help="lead or member.")] = "member",
) -> None:
    """Add a member to a team, or change a member's role."""
    with database().write() as session:
        teams.set_member(
            session, principal=cli_principal(), team=team, username=username, role=role
        )
    console.print(f"{username} is a {role} of {team}")


@members_app.command("remove")
def remove_member(team: TeamArg, username: UserArg) -> None:
    """Take a member out of a team."""
    with database().write() as session:
        teams.remove_member(session, principal=cli_principal(), team=team, username=username)
    console.print(f"{username} is no longer in {team}")
