"""``opsloop change``: raise, decide, schedule and run changes from a terminal, as the API does
(``opsloop freeze`` is :mod:`opsloop.changes.cli_freeze`). The CLI acts with admin rights, so CAB
decisions name the approver who takes them (``--as``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from opsloop.changes import cli_impact, execution, workflow
from opsloop.changes import service as changes
from opsloop.changes.deps import policy_of
from opsloop.changes.rules import ChangeModel, ChangePolicy, ChangeState, RiskLevel, parse_choice
from opsloop.changes.schemas import ChangeOut, HistoryOut
from opsloop.changes.views import ChangeView
from opsloop.changes.workflow import Outcome
from opsloop.core.cliutil import cli_principal, console, database, fail, note, settings

change_app = typer.Typer(
    help="Change requests: submit, approve, schedule, run.", no_args_is_help=True
)

KeyArg = Annotated[str, typer.Argument(metavar="KEY", help="CR-YYYY-NNN")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AsUser = Annotated[
    str, typer.Option("--as", metavar="USER", help="The approver deciding (an opsloop user).")
]
TIME_HELP = "ISO 8601; UTC without a zone."


def _policy() -> ChangePolicy:
    return policy_of(settings())


def parse_time(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option}: not a date-time {text!r} (like 2026-11-02T08:50Z)")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def _print(found: ChangeView, warnings: tuple[str, ...] = ()) -> None:
    out = console.print
    out(f"{found.key} [{found.state.value}] {found.title}", markup=False)
    out(
        f"  service {found.service} · {found.category} · {found.model.value} · "
        f"{found.risk.value} risk",
        markup=False,
    )
    out(
        f"  requester {found.requester or '—'} · implementer {found.implementer or '—'} · "
        f"approvals {found.approvals_given}/{found.approvals_needed}",
        markup=False,
    )
    if found.window_start:
        out(f"  window {when(found.window_start)} to {when(found.window_end)} UTC", markup=False)
    if found.started_at:
        out(f"  started {when(found.started_at)} finished {when(found.finished_at)}", markup=False)
    if found.outcome_reason:
        out(f"  reason: {found.outcome_reason}", markup=False)
    if found.gate_override_by:
        out(
            f"  gate overridden by {found.gate_override_by}: {found.gate_override_reason}",
            markup=False,
        )
    if found.non_compliant:
        out("  NON-COMPLIANT: emergency change not approved in time", markup=False)
    for approval in found.approvals:
        out(
            f"  {approval.decision.value}d by {approval.approver} {when(approval.at)}"
            f"{': ' + approval.comment if approval.comment else ''}",
            markup=False,
        )
    for warning in warnings:
        note(f"warning: {warning}")


def _show(found: ChangeView, as_json: bool, warnings: tuple[str, ...] = ()) -> None:
    if as_json:
        shown = ChangeOut.detail(found, warnings).model_dump(mode="json")
        console.print_json(json.dumps(shown))
    else:
        _print(found, warnings)


@change_app.command("submit")
def submit(
    title: Annotated[str, typer.Argument(metavar="TITLE", help="What changes, in a line.")],
    service: Annotated[str, typer.Option(help="A service of the catalog.")],
    category: Annotated[str, typer.Option(help="infrastructure, application, database, …")],
    requester: Annotated[str, typer.Option(help="Who asks for it (an opsloop user).")],
    model: Annotated[str, typer.Option(help="standard, normal or emergency.")] = "normal",
    risk: Annotated[str, typer.Option(help="low, medium or high.")] = "medium",
    description: Annotated[str, typer.Option(help="What and why.")] = "",
    impact: Annotated[str, typer.Option(help="The impact analysis.")] = "",
    rollback_plan: Annotated[str, typer.Option(help="How to undo it (unless standard).")] = "",
    implementer: Annotated[str | None, typer.Option(help="An opsloop user.")] = None,
    draft: Annotated[bool, typer.Option("--draft", help="Keep it a draft.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Raise a change and submit it (a standard change is pre-approved); prints its key."""
    policy = _policy()
    principal = cli_principal()
    with database().write() as session:
        found = changes.create(
            session,
            principal=principal,
            title=title,
            service=service,
            category=category,
            model=parse_choice(ChangeModel, model, "--model"),
            risk=parse_choice(RiskLevel, risk, "--risk"),
            description=description,
            impact_analysis=impact,
            rollback_plan=rollback_plan,
            requester=requester,
            implementer=implementer,
            policy=policy,
        )
        if not draft:
            found = workflow.submit(
                session, principal=principal, key=found.key, policy=policy
            ).change
    if as_json:
        _show(found, True)
    else:
        console.print(f"{found.key} {found.state.value}: {found.title}", markup=False)


@change_app.command("update")
def update(
    key: KeyArg,
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    impact: Annotated[str | None, typer.Option(help="The impact analysis.")] = None,
    rollback_plan: Annotated[str | None, typer.Option(help="New rollback plan.")] = None,
    implementer: Annotated[str | None, typer.Option(help="A user; '' clears.")] = None,
    service: Annotated[
        str | None, typer.Option(help="Another service (draft or submitted).")
    ] = None,
    category: Annotated[str | None, typer.Option(help="Another category.")] = None,
    model: Annotated[str | None, typer.Option(help="standard, normal or emergency.")] = None,
    risk: Annotated[str | None, typer.Option(help="low, medium or high.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Edit fields (each change audited and on the history)."""
    given: dict[str, Any] = {
        "title": title,
        "description": description,
        "impact_analysis": impact,
        "rollback_plan": rollback_plan,
        "implementer": implementer,
        "service": service,
        "category": category,
        "model": model,
        "risk": risk,
    }
    wanted = {k: v for k, v in given.items() if v is not None}
    if not wanted:
        fail("nothing to change; give at least one option")
    with database().write() as session:
        found = changes.update(
            session, principal=cli_principal(), key=key, changes=wanted, policy=_policy()
        )
    _show(found, as_json)


def _run(action: Callable[..., Outcome], key: str, as_json: bool, **values: Any) -> None:
    with database().write() as session:
        outcome = action(session, principal=cli_principal(), key=key, policy=_policy(), **values)
    _show(outcome.change, as_json, outcome.warnings)


@change_app.command("approve")
def approve(
    key: KeyArg,
    as_user: AsUser,
    comment: Annotated[str, typer.Option(help="Why (optional for an approval).")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Record a CAB approval by an approver."""
    _run(workflow.approve, key, as_json, comment=comment, as_user=as_user)


@change_app.command("reject")
def reject(
    key: KeyArg,
    as_user: AsUser,
    comment: Annotated[str, typer.Option(help="Why (required).")],
    as_json: JsonFlag = False,
) -> None:
    """Record a CAB rejection by an approver."""
    _run(workflow.reject, key, as_json, comment=comment, as_user=as_user)


@change_app.command("schedule")
def schedule(
    key: KeyArg,
    start: Annotated[str, typer.Option(metavar="TIME", help=f"Window start ({TIME_HELP})")],
    duration: Annotated[
        int, typer.Option(metavar="MINUTES", min=1, max=7 * 24 * 60, help="Window length.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Put an approved change into a window (refused inside a freeze)."""
    when = parse_time(start, "--start")
    _run(execution.schedule, key, as_json, start=when, duration=timedelta(minutes=duration))


@change_app.command("start")
def start(key: KeyArg, as_json: JsonFlag = False) -> None:
    """Implementation begins (the error-budget gate applies)."""
    _run(execution.start, key, as_json)


@change_app.command("complete")
def complete(
    key: KeyArg,
    note_text: Annotated[str, typer.Option("--note", help="How it went.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """The change is done (a note is optional)."""
    _run(execution.complete, key, as_json, note=note_text)


@change_app.command("fail")
def fail_change(
    key: KeyArg,
    reason: Annotated[str, typer.Option(help="What went wrong.")],
    as_json: JsonFlag = False,
) -> None:
    """The change failed (the reason is required)."""
    _run(execution.fail, key, as_json, reason=reason)


@change_app.command("rollback")
def rollback(
    key: KeyArg,
    reason: Annotated[str, typer.Option(help="Why it was rolled back.")],
    incident: Annotated[str | None, typer.Option(help="INC-YYYY-NNN it caused.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Roll back a change in progress or completed, naming an incident it caused."""
    _run(execution.rollback, key, as_json, reason=reason, incident_key=incident)


@change_app.command("override-gate")
def override_gate(
    key: KeyArg,
    reason: Annotated[str, typer.Option(help="Why (audited).")],
    as_json: JsonFlag = False,
) -> None:
    """Let a change through the error-budget gate (audited)."""
    _run(workflow.override_gate, key, as_json, reason=reason)


@change_app.command("show")
def show(
    key: KeyArg,
    with_history: Annotated[bool, typer.Option("--history", help="Also the history.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """A change with its approvals (and history)."""
    with database().read() as session:
        found = changes.get_change(session, key=key, policy=_policy())
        past = changes.history_of_change(session, key=key) if with_history else []
    if as_json:
        shown = ChangeOut.detail(found).model_dump(mode="json")
        if with_history:
            shown["history"] = [HistoryOut.of(h).model_dump(mode="json") for h in past]
        console.print_json(json.dumps(shown))
        return
    _print(found)
    for entry in past:
        console.print(
            f"  {when(entry.at)} {entry.actor}: {entry.field} {entry.before or '—'} → "
            f"{entry.after or '—'}{' (' + entry.note + ')' if entry.note else ''}",
            markup=False,
        )


@change_app.command("list")
def list_changes(
    state: Annotated[str | None, typer.Option(help="Only changes in this state.")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service's changes.")] = None,
    model: Annotated[str | None, typer.Option(help="standard, normal or emergency.")] = None,
    risk: Annotated[str | None, typer.Option(help="low, medium or high.")] = None,
    since: Annotated[str | None, typer.Option(metavar="TIME", help=TIME_HELP)] = None,
    until: Annotated[str | None, typer.Option(metavar="TIME", help=TIME_HELP)] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Changes newest first."""
    flt = changes.ChangeFilter(
        state=parse_choice(ChangeState, state, "--state") if state else None,
        service=service,
        model=parse_choice(ChangeModel, model, "--model") if model else None,
        risk=parse_choice(RiskLevel, risk, "--risk") if risk else None,
        since=parse_time(since, "--since") if since else None,
        until=parse_time(until, "--until") if until else None,
    )
    with database().read() as session:
        found = changes.list_changes(session, flt=flt, limit=limit, policy=_policy())
    if as_json:
        rows = [ChangeOut.detail(c).model_dump(mode="json") for c in found]
        console.print_json(json.dumps(rows))
        return
    if not found:
        note("no changes")
        return
    table = Table()
    for name in ("key", "state", "model", "risk", "service", "window (UTC)"):
        table.add_column(name, no_wrap=True)
    table.add_column("title")
    for c in found:
        table.add_row(
            c.key,
            c.state.value,
            c.model.value,
            c.risk.value,
            c.service,
            when(c.window_start),
            c.title,
        )
    console.print(table)


# Assessment and verification commands live beside, in their own module.
cli_impact.register(change_app)
# Last: the delivery commands import this module's neighbours, not this module.
from opsloop.changes import cli_delivery  # noqa: E402

cli_delivery.register(change_app)
