"""``opsloop pir``: post-incident reviews and the compliance check from a terminal, as the API
does. ``opsloop pir compliance`` exits 1 when anything is out of compliance, so a pipeline can
stop on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from opsloop.core.cliutil import cli_principal, console, database, fail, note, settings
from opsloop.incidents.cli_format import parse_time, print_json, when
from opsloop.incidents.rules import response_targets
from opsloop.pirs import compliance, reading, render
from opsloop.pirs import service as pirs
from opsloop.pirs.deps import policy_from
from opsloop.pirs.rules import PirState, parse_state, parse_window
from opsloop.pirs.schemas import ComplianceOut, PirOut, PirRow
from opsloop.pirs.views import PirView, Policy

pir_app = typer.Typer(
    help="Post-incident reviews: write, review, publish; check compliance.", no_args_is_help=True
)
KeyArg = Annotated[str, typer.Argument(metavar="KEY", help="INC-YYYY-NNN")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _policy() -> Policy:
    return policy_from(settings())


def _show(found: PirView, as_json: bool) -> None:
    if as_json:
        print_json(console, PirOut.of(found).model_dump(mode="json"))
        return
    due = f"; due {when(found.incident.due_at)} UTC" if found.incident.due_at else ""
    flag = " (overdue)" if found.overdue else ""
    console.print(
        f"{found.key} review: {found.state.label}, revision {found.revision}{due}{flag}",
        markup=False,
    )


@pir_app.command("create")
def create(key: KeyArg, as_json: JsonFlag = False) -> None:
    """Start the incident's review as a draft, prefilled from the incident."""
    with database().write() as session:
        found = pirs.create_pir(session, principal=cli_principal(), key=key, policy=_policy())
    _show(found, as_json)


@pir_app.command("show")
def show(
    key: KeyArg,
    as_json: JsonFlag = False,
    revision: Annotated[int | None, typer.Option(min=1, help="A published revision.")] = None,
) -> None:
    """Print the review as Markdown (or JSON)."""
    with database().read() as session:
        found = pirs.get_pir(session, key=key, policy=_policy())
        doc = reading.document(session, key=key, number=revision, policy=_policy())
    if as_json:
        _show(found, True)
    else:
        console.print(render.to_markdown(doc), markup=False, highlight=False, soft_wrap=True)


def _whys(entries: list[str]) -> list[dict[str, Any]]:
    steps = []
    for index, entry in enumerate(entries):
        if "|" not in entry:
            fail(f"--why #{index + 1}: write 'question | answer' (question blank after the first)")
        question, answer = entry.split("|", 1)
        steps.append({"question": question.strip(), "answer": answer.strip()})
    return steps


@pir_app.command("update")
def update(
    key: KeyArg,
    summary: Annotated[str | None, typer.Option(help="The summary.")] = None,
    root_cause: Annotated[str | None, typer.Option(help="The root cause.")] = None,
    why: Annotated[
        list[str] | None,
        typer.Option(help="'question | answer', in order; repeatable (replaces the chain)."),
    ] = None,
    factor: Annotated[
        list[str] | None, typer.Option(help="A contributing factor; repeatable (replaces them).")
    ] = None,
    users_affected: Annotated[int | None, typer.Option(min=0, help="Users affected.")] = None,
    revenue: Annotated[str | None, typer.Option(help="Revenue impact, in words.")] = None,
    impact: Annotated[str | None, typer.Option(help="The impact in words.")] = None,
    went_well: Annotated[str | None, typer.Option(help="What went well.")] = None,
    went_poorly: Annotated[str | None, typer.Option(help="What went poorly.")] = None,
    lessons: Annotated[str | None, typer.Option(help="Lessons learned.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Replace the sections given (editing a published review opens its next revision)."""
    changes: dict[str, Any] = {}
    for name, value in (
        ("summary", summary),
        ("root_cause", root_cause),
        ("went_well", went_well),
        ("went_poorly", went_poorly),
        ("lessons_learned", lessons),
    ):
        if value is not None:
            changes[name] = value
    if why is not None:
        changes["whys"] = _whys(why)
    if factor is not None:
        changes["contributing_factors"] = factor
    impact_changes = {
        k: v
        for k, v in (
            ("users_affected", users_affected),
            ("revenue", revenue),
            ("description", impact),
        )
        if v is not None
    }
    if impact_changes:
        changes["impact"] = impact_changes
    if not changes:
        fail("name at least one section to change (see --help)")
    with database().write() as session:
        found = pirs.update_pir(
            session, principal=cli_principal(), key=key, changes=changes, policy=_policy()
        )
    _show(found, as_json)


@pir_app.command("add-timeline")
def add_timeline(
    key: KeyArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What happened.")],
    at: Annotated[str | None, typer.Option(metavar="TIME", help="When (ISO 8601; UTC).")] = None,
    kind: Annotated[str, typer.Option(help="A word such as note, detection, mitigation.")] = "note",
) -> None:
    """Add an entry to the review's timeline (the incident's timeline is not changed)."""
    moment = parse_time(at, "--at") if at else None
    with database().write() as session:
        found = pirs.add_timeline_entry(
            session,
            principal=cli_principal(),
            key=key,
            text=text,
            at=moment,
            kind=kind,
            policy=_policy(),
        )
    _show(found, False)


def _move(key: str, state: PirState) -> None:
    with database().write() as session:
        found = pirs.move_pir(
            session, principal=cli_principal(), key=key, state=state, policy=_policy()
        )
    _show(found, False)


@pir_app.command("submit")
def submit(key: KeyArg) -> None:
    """Move a draft to review."""
    _move(key, PirState.in_review)


@pir_app.command("publish")
def publish(key: KeyArg) -> None:
    """Publish a review in review (announced as pir.published)."""
    _move(key, PirState.published)


@pir_app.command("report")
def report(
    key: KeyArg,
    format: Annotated[str, typer.Option("--format", help="md, html or pdf.")] = "md",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to FILE.")] = None,
    revision: Annotated[int | None, typer.Option(min=1, help="A published revision.")] = None,
) -> None:
    """Render the review; a PDF needs -o."""
    if format not in render.FORMATS:
        fail(f"--format: {format!r} is not md, html or pdf")
    if format == "pdf" and output is None:
        fail("--format pdf: give a file with -o")
    with database().read() as session:
        doc = reading.document(session, key=key, number=revision, policy=_policy())
    body = render.render(doc, format)
    if output is None:
        console.file.write(body.decode())
        return
    try:
        output.write_bytes(body)
    except OSError as exc:
        fail(f"-o: cannot write {output}: {exc.strerror}")
    note(f"wrote {output} ({len(body)} bytes)")


@pir_app.command("schedule-review")
def schedule_review(
    key: KeyArg,
    at: Annotated[str, typer.Option(metavar="TIME", help="When (ISO 8601; UTC).")],
    attendee: Annotated[
        list[str] | None, typer.Option(help="An opsloop username; repeatable.")
    ] = None,
    notes: Annotated[str, typer.Option(help="Notes of the meeting.")] = "",
    item: Annotated[
        list[int] | None, typer.Option(min=1, help="An action item id agreed; repeatable.")
    ] = None,
) -> None:
    """Set the review meeting."""
    moment = parse_time(at, "--at")
    with database().write() as session:
        found = pirs.schedule_review(
            session,
            principal=cli_principal(),
            key=key,
            meeting={
                "scheduled_at": moment.isoformat(),
                "attendees": attendee or [],
                "notes": notes,
                "validated_action_items": item or [],
            },
            policy=_policy(),
        )
    meeting = found.review_meeting
    assert meeting is not None
    console.print(
        f"{found.key} review meeting {when(meeting.scheduled_at)} UTC with "
        f"{', '.join(meeting.attendees) or 'nobody yet'}",
        markup=False,
    )


@pir_app.command("list")
def list_pirs(
    state: Annotated[str | None, typer.Option(help="draft, in_review or published.")] = None,
    overdue: Annotated[
        bool | None, typer.Option("--overdue/--not-overdue", help="Past the deadline.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Reviews newest first."""
    wanted = parse_state(state, field="--state") if state else None
    with database().read() as session:
        found = reading.list_pirs(
            session, state=wanted, overdue=overdue, limit=limit, policy=_policy()
        )
    if as_json:
        print_json(console, [PirRow.of(p).model_dump(mode="json") for p in found])
        return
    if not found:
        note("no reviews")
    for p in found:
        flag = " OVERDUE" if p.overdue else ""
        console.print(
            f"{p.key} {p.incident.severity} {p.state.label} r{p.revision}{flag}: "
            f"{p.incident.title}",
            markup=False,
        )


@pir_app.command("compliance")
def compliance_check(
    since: Annotated[str, typer.Option(help="The window: 30d, 12h, 2w.")] = "30d",
    as_json: JsonFlag = False,
) -> None:
    """Overdue reviews and late responses; exits 1 when anything is out of compliance."""
    window = parse_window(since, field="--since")
    targets = response_targets(settings().incident_response_targets)
    with database().read() as session:
        found = compliance.incident_compliance(
            session, window=window, policy=_policy(), targets=targets
        )
    if as_json:
        print_json(console, ComplianceOut.of(found).model_dump(mode="json"))
    else:
        _print_report(found)
    if not found.ok:
        raise typer.Exit(1)


def _print_report(found: compliance.ComplianceReport) -> None:
    out = console.print
    out(f"incidents started since {when(found.since)} UTC", markup=False)
    out(f"reviews past their deadline: {len(found.overdue_reviews)}", markup=False)
    for r in found.overdue_reviews:
        state = r.state.label if r.state else "not started"
        out(
            f"  {r.incident.key} {r.incident.severity} review {state}, due "
            f"{when(r.incident.due_at)} UTC ({r.hours_overdue:.1f} h overdue): {r.incident.title}",
            markup=False,
        )
    out(f"responses later than target: {len(found.late_responses)}", markup=False)
    for late in found.late_responses:
        acked = when(late.acknowledged_at) if late.acknowledged_at else "not acknowledged"
        out(
            f"  {late.key} {late.severity} due {when(late.due_at)} UTC, {acked} "
            f"({late.minutes_late:.0f} min late): {late.title}",
            markup=False,
        )
    out("compliant" if found.ok else "out of compliance", markup=False)


@pir_app.command("add-action-item")
def add_action_item(
    key: KeyArg,
    description: Annotated[str, typer.Argument(metavar="TEXT", help="What is to be done.")],
    owner: Annotated[str, typer.Option(help="A user name, or team:NAME.")],
    due: Annotated[str, typer.Option(help="The due date, e.g. 2026-12-20.")],
    priority: Annotated[str, typer.Option(help="P1, P2 or P3.")] = "P2",
) -> None:
    """Add an action item to the review (as opsloop action add --incident KEY does)."""
    from opsloop.actions.cli import add

    add(description, incident=key, owner=owner, due=due, priority=priority)
