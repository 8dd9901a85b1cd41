"""``opsloop incident template``: read and edit the status-update templates."""

from __future__ import annotations

from typing import Annotated

import typer

from opsloop.core.cliutil import cli_principal, console, database, fail
from opsloop.incidents import lifecycle
from opsloop.incidents.update_templates import PLACEHOLDERS
from opsloop.incidents.vocabulary import Audience, parse_choice

template_app = typer.Typer(help="Status-update templates.", no_args_is_help=True)


@template_app.command("list")
def list_templates() -> None:
    """Every template with its wording, and the placeholders they may use."""
    with database().read() as session:
        found = lifecycle.list_templates(session)
    for template in found:
        mark = " (customised)" if template.customised else ""
        console.print(f"{template.name}/{template.audience.value}{mark}:", markup=False)
        console.print(f"  {template.body}", markup=False, highlight=False, soft_wrap=True)
    console.print("placeholders: " + ", ".join("{" + name + "}" for name in PLACEHOLDERS))


@template_app.command("set")
def set_template(
    name: Annotated[str, typer.Argument(metavar="NAME", help="investigating, identified, ...")],
    audience: Annotated[str, typer.Argument(metavar="AUDIENCE", help="internal or external")],
    body: Annotated[str | None, typer.Option(help="The new wording.")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Back to the shipped wording.")] = False,
) -> None:
    """Change one template (audited); --reset restores the shipped wording."""
    if (body is None) == (not reset):
        fail("give either --body or --reset")
    with database().write() as session:
        lifecycle.put_templates(
            session,
            principal=cli_principal(),
            templates=[(name, parse_choice(Audience, audience, "AUDIENCE"), body)],
        )
    console.print(f"template {name}/{audience} {'reset' if reset else 'saved'}", markup=False)
