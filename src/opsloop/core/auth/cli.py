from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from opsloop.core.auth import service
from opsloop.core.cliutil import cli_principal, console, database, fail

users = typer.Typer(help="Manage users.", no_args_is_help=True)
tokens = typer.Typer(help="Manage API tokens.", no_args_is_help=True)

Username = Annotated[str, typer.Argument(metavar="USERNAME", help="The user's login name.")]
RoleOption = Annotated[
    str, typer.Option(metavar="ROLE", help="viewer, responder, approver or admin.")
]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the web password from the first line of stdin."),
]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        fail("no terminal to ask for a password; use --password-stdin")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Again", hide_input=True) != first:
        fail("the passwords differ")
    return str(first)


@users.command("create")
def user_create(
    username: Username,
    role: RoleOption,
    display_name: Annotated[str, typer.Option(metavar="TEXT", help="Name shown in the UI.")] = "",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user (add --password-stdin to allow web login)."""
    parsed = service.parse_role(role)
    password = _read_password(True) if password_stdin else None
    with database().write() as session:
        user = service.create_user(
            session,
            principal=cli_principal(),
            username=username,
            role=parsed,
            display_name=display_name,
            password=password,
        )
    console.print(f"created user {user.username} ({user.role})")


@users.command("list")
def user_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List users with their role and whether they are disabled."""
    with database().read() as session:
        rows = service.list_users(session)
    if as_json:
        data = [
            {
                "username": u.username,
                "role": u.role,
                "disabled": u.disabled,
                "display_name": u.display_name,
            }
            for u in rows
        ]
        print(json.dumps(data, indent=2))
        return
    table = Table("username", "role", "display name", "disabled")
    for u in rows:
        table.add_row(u.username, u.role, u.display_name, "yes" if u.disabled else "")
    console.print(table)


@users.command("set-password")
def user_set_password(username: Username, password_stdin: PasswordStdin = False) -> None:
    """Set a user's web password (asked twice on the terminal, or read from stdin)."""
    password = _read_password(password_stdin)
    with database().write() as session:
        service.set_password(
            session, principal=cli_principal(), username=username, password=password
        )
    console.print(f"password of {username} changed")


@users.command("update")
def user_update(
    username: Username,
    role: Annotated[
        str | None,
        typer.Option(metavar="ROLE", help="New role: viewer, responder, approver or admin."),
    ] = None,
    disabled: Annotated[
        bool | None,
        typer.Option(
            "--disable/--enable", help="Disable (ends sessions and tokens) or enable the user."
        ),
    ] = None,
    display_name: Annotated[
        str | None, typer.Option(metavar="TEXT", help="New name shown in the UI.")
    ] = None,
) -> None:
    """Change a user's role, display name or whether they can sign in (audited)."""
    parsed = service.parse_role(role) if role is not None else None
    with database().write() as session:
        user = service.update_user(
            session,
            principal=cli_principal(),
            username=username,
            role=parsed,
            disabled=disabled,
            display_name=display_name,
        )
    console.print(
        f"{user.username}: role {user.role}, {'disabled' if user.disabled else 'enabled'}"
    )


@tokens.command("create")
def token_create(
    user: Annotated[str, typer.Option(metavar="USERNAME", help="The user the token acts as.")],
    role: RoleOption,
    name: Annotated[str, typer.Option(metavar="TEXT", help="What the token is for.")] = "",
    expires_days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, metavar="DAYS", help="Expire after DAYS [default: never]"),
    ] = None,
) -> None:
    """Create an API token. It is printed once; opsloop keeps only its hash."""
    parsed = service.parse_role(role)
    expires = timedelta(days=expires_days) if expires_days else None
    with database().write() as session:
        token, plaintext = service.create_token(
            session,
            principal=cli_principal(),
            username=user,
            role=parsed,
            name=name,
            expires_in=expires,
        )
    print(plaintext)
    typer.echo(
        f"token {token.id} ({token.name}, {token.role}) for {user}; "
        "store it now, it is not shown again",
        err=True,
    )


@tokens.command("list")
def token_list(
    user: Annotated[
        str | None, typer.Option(metavar="USERNAME", help="Only this user's tokens.")
    ] = None,
) -> None:
    """List API tokens (never the tokens themselves, only their first characters)."""
    with database().read() as session:
        rows = service.list_tokens(session, principal=cli_principal(), username=user)
    table = Table("id", "user", "name", "prefix", "role", "expires", "revoked")
    for t, username in rows:
        table.add_row(
            str(t.id),
            username,
            t.name,
            t.prefix + "…",
            t.role,
            f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "",
            f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
        )
    console.print(table)


@tokens.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The id shown by 'token list'.")],
) -> None:
    """Revoke an API token at once (audited)."""
    with database().write() as session:
        service.revoke_token(session, principal=cli_principal(), token_id=token_id)
    console.print(f"token {token_id} revoked")
