"""``opsloop action``: the action items of incident reviews from a terminal, as the API does."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from opsloop.actions import escalation, report
from opsloop.actions import service as actions
from opsloop.actions.rules import parse_priority, parse_status
from opsloop.actions.schemas import EscalatedOut, ItemOut
from opsloop.actions.views import ActionItemView
from opsloop.core import clock
from opsloop.core.cliutil import cli_principal, console, database, fail, note, settings

action_app = typer.Typer(
    help="Action items of incident reviews: add, track, escalate, report.", no_args_is_help=True
)

IdArg = Annotated[int, typer.Argument(metavar="ID", min=1, help="The action item's id.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OwnerHelp = "A username, or team:NAME for a team of the catalog."


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option}: not a date {text!r} (like 2026-12-20)")


def _owner(text: str) -> dict[str, str | None]:
    user, team = actions.parse_owner(text)
    return {"owner_user": user, "owner_team": team}


def _print_json(value: Any) -> None:
    console.print_json(json.dumps(value, default=str))


def _flags(item: ActionItemView, *, short: bool = True) -> str:
    shown = []
    if item.overdue:
        shown.append(f"{item.days_overdue}d late" if short else f"{item.days_overdue}d overdue")
    if item.escalation_level:
        level = item.escalation_level
        shown.append(f"L{level}" if short else f"escalated L{level}")
    return ", ".join(shown)


def _print_item(item: ActionItemView) -> None:
    out = console.print
    out(f"#{item.id} {item.incident_key} {item.priority.value} {item.status_label}", markup=False)
    out(item.description, markup=False)
    out(f"owner: {item.owner}; due: {item.due_on.isoformat()}", markup=False)
    if flags := _flags(item, short=False):
        out(f"flags: {flags}", markup=False)
    out(f"created by {item.created_by} at {item.created_at:%Y-%m-%d %H:%M}", markup=False)
    if item.completed_at:
        out(f"closed at {item.completed_at:%Y-%m-%d %H:%M}")
    for esc in item.escalations:
        out(f"escalation {esc.at:%Y-%m-%d %H:%M}: {esc.summary}", markup=False)
    for n in item.notes:
        change = f" [{n.status_change}]" if n.status_change else ""
        out(f"note {n.at:%Y-%m-%d %H:%M} {n.author}{change}: {n.text}", markup=False)


@action_app.command("add")
def add(
    description: Annotated[str, typer.Argument(metavar="TEXT", help="What is to be done.")],
    incident: Annotated[str, typer.Option(help="The incident's key, INC-YYYY-NNN.")],
    owner: Annotated[str, typer.Option(help=OwnerHelp)],
    due: Annotated[str, typer.Option(help="The due date, e.g. 2026-12-20.")],
    priority: Annotated[str, typer.Option(help="P1, P2 or P3.")] = "P2",
    note_text: Annotated[str, typer.Option("--note", help="A first note.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Add an action item to an incident's review (audited); prints its id."""
    due_on = _date(due, "--due")
    with database().write() as session:
        found = actions.create_item(
            session,
            principal=cli_principal(),
            incident_key=incident,
            description=description,
            priority=parse_priority(priority, "--priority"),
            due_on=due_on,
            note=note_text,
            **_owner(owner),
        )
    if as_json:
        _print_json(ItemOut.of(found).model_dump(mode="json"))
    else:
        console.print(f"added #{found.id} to {found.incident_key} for {found.owner}", markup=False)


@action_app.command("list")
def list_items(
    status: Annotated[str | None, typer.Option(help="A status, or open.")] = None,
    owner: Annotated[str | None, typer.Option(help=OwnerHelp)] = None,
    team: Annotated[str | None, typer.Option(help="Owned by the team or its members.")] = None,
    priority: Annotated[str | None, typer.Option(help="P1, P2 or P3.")] = None,
    incident: Annotated[str | None, typer.Option(help="An incident key.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue items.")] = False,
    due_within: Annotated[
        int | None, typer.Option(help="Open items due today or within this many days.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 200,
    as_json: JsonFlag = False,
) -> None:
    """Items of every review, newest first."""
    flt = actions.ItemFilter(
        status=parse_status(status, "--status") if status and status != "open" else None,
        open_only=status == "open",
        owner=owner,
        team=team,
        priority=parse_priority(priority, "--priority") if priority else None,
        due_within_days=due_within,
        overdue=overdue,
        incident=incident,
    )
    with database().read() as session:
        found = actions.list_items(session, flt=flt, limit=limit)
    if as_json:
        _print_json([ItemOut.of(i).model_dump(mode="json") for i in found])
        return
    if not found:
        note("no action items match")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("ID", "Incident", "Pri", "Status", "Due"):
        table.add_column(name, no_wrap=True)
    table.add_column("Owner", min_width=8)
    table.add_column("Description", ratio=1)
    for i in found:
        flags = _flags(i)
        table.add_row(
            str(i.id), i.incident_key, i.priority.value, i.status_label,
            i.due_on.isoformat() + (f"\n{flags}" if flags else ""),
            escape(i.owner), escape(i.description),
        )  # fmt: skip
    console.print(table)


@action_app.command("show")
def show(item_id: IdArg, as_json: JsonFlag = False) -> None:
    """One item with its notes and escalations."""
    with database().read() as session:
        found = actions.get_item(session, item_id=item_id)
    if as_json:
        _print_json(ItemOut.of(found).model_dump(mode="json"))
    else:
        _print_item(found)


@action_app.command("update")
def update(
    item_id: IdArg,
    status: Annotated[
        str | None, typer.Option(help="open, in_progress, done or wont_do (needs --note).")
    ] = None,
    note_text: Annotated[str | None, typer.Option("--note", help="A note for the history.")] = None,
    due: Annotated[str | None, typer.Option(help="A new due date.")] = None,
    owner: Annotated[str | None, typer.Option(help=OwnerHelp)] = None,
    priority: Annotated[str | None, typer.Option(help="P1, P2 or P3.")] = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Edit an item or move its status (audited)."""
    changes: dict[str, Any] = {}
    if status is not None:
        changes["status"] = parse_status(status, "--status")
    if due is not None:
        changes["due_on"] = _date(due, "--due")
    if owner is not None:
        changes.update(_owner(owner))
    if priority is not None:
        changes["priority"] = parse_priority(priority, "--priority")
    if description is not None:
        changes["description"] = description
    with database().write() as session:
        found = actions.update_item(
            session, principal=cli_principal(), item_id=item_id, changes=changes, note=note_text
        )
    if as_json:
        _print_json(ItemOut.of(found).model_dump(mode="json"))
    else:
        _print_item(found)


@action_app.command("escalate")
def escalate(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be escalated; change nothing.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Escalate overdue items to their owners' team leads now, as the minute job does."""
    with database().write() as session:
        found = escalation.escalate_by_hand(
            session,
            principal=cli_principal(),
            now=clock.now(),
            after_days=settings().action_escalate_after_days,
            dry_run=dry_run,
        )
    if as_json:
        _print_json([EscalatedOut.of(e).model_dump(mode="json") for e in found])
        return
    verb = "would escalate" if dry_run else "escalated"
    if not found:
        note(f"nothing to escalate (overdue by {settings().action_escalate_after_days}+ days)")
    for e in found:
        to = ", ".join(e.notified_to) or (
            f"the channel of {', '.join(e.teams)} (no lead)" if e.teams else "nobody (no team)"
        )
        console.print(
            f"{verb} #{e.item_id} {e.incident_key} level {e.level} "
            f"({e.days_overdue} days overdue, owner {e.owner}) to {to}",
            markup=False,
        )


@action_app.command("report")
def report_cmd(
    fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
) -> None:
    """Open, overdue and closed items per owner and priority, and the overdue ones."""
    if fmt not in ("md", "json"):
        fail(f"--format: must be md or json, not {fmt!r}")
    with database().read() as session:
        found = actions.list_items(session)
    summary = report.summarise(found, now=clock.now())
    if fmt == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(report.markdown(summary), end="")
