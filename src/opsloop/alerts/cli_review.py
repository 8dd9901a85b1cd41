"""``opsloop alerts review``: the weekly alert review from the terminal, as Markdown to paste
into the review's notes or JSON for a script."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from opsloop.alerts import review as reviews
from opsloop.alerts.review_out import ReviewOut, markdown
from opsloop.core import clock, periods
from opsloop.core.cliutil import console, database, settings


class Format(StrEnum):
    md = "md"
    json = "json"


SPAN = "a span back from now (7d, 12h, 2w) or an ISO 8601 time with a zone"


def review_command(
    since: Annotated[str, typer.Option(help=f"Start: {SPAN}.")] = "7d",
    until: Annotated[str | None, typer.Option(help=f"End (default now): {SPAN}.")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service's alerts.")] = None,
    format: Annotated[Format, typer.Option("--format", help="md or json.")] = Format.md,
) -> None:
    """Which alerts fired, how many needed action, which flapped, and a recommendation for each
    (tune or remove, investigate flapping, automate, keep)."""
    start, end = periods.period(since, until, now=clock.now())
    limits = reviews.thresholds(settings())
    with database().read() as session:
        found = reviews.review(session, since=start, until=end, limits=limits, service=service)
    if format is Format.json:
        console.print_json(ReviewOut.of(found).model_dump_json())
    else:
        typer.echo(markdown(found), nl=False)
