"""First start: an admin account, and (only when asked for) demo data so a newcomer sees a
working opsloop."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.config import Settings
from opsloop.core.db import Database

ADMIN_USERNAME = "admin"
DEMO_USERS = (
    ("alice", Role.responder, "Alice (on-call SRE)"),
    ("bob", Role.approver, "Bob (engineering manager)"),
    ("carol", Role.viewer, "Carol (product)"),
)
# Any constant works: it names the first-start lock among opsloop's advisory locks.
_FIRST_START_LOCK = 0x6F70_6C01

Seeder = Callable[[Session], None]


def _new_password() -> str:
    return secrets.token_urlsafe(12)


def _demo_users(session: Session) -> dict[str, str]:
    created = {}
    for username, role, name in DEMO_USERS:
        password = _new_password()
        auth.create_user(
            session,
            principal=SYSTEM,
            username=username,
            role=role,
            display_name=name,
            password=password,
        )
        created[username] = password
    return created


def first_start(
    db: Database, settings: Settings, domain_seeders: Sequence[Seeder] = (), *, demo: bool = False
) -> dict[str, str]:
    """Create the admin (and, with ``demo``, demo users and data) on an empty database.

    Returns the passwords opsloop generated, by username, so they can be shown once; empty
    when the database already had users. Safe to run from several replicas at once: the first
    one creates, the others find the users there.
    """
    with db.write() as session:
        if db.dialect == "postgresql":
            # SQLite write transactions are serial already (BEGIN IMMEDIATE).
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRST_START_LOCK})
        if auth.counts(session)["users"]:
            return {}
        given = settings.admin_password.get_secret_value()
        password = given or _new_password()
        auth.create_user(
            session,
            principal=SYSTEM,
            username=ADMIN_USERNAME,
            role=Role.admin,
            display_name="Administrator",
            password=password,
        )
        created = {} if given else {ADMIN_USERNAME: password}
        if demo:
            created.update(_demo_users(session))
            for seed in domain_seeders:
                seed(session)
    if not given:
        _remember(settings.data_dir, password)
    return created


def _remember(data_dir: Path, password: str) -> None:
    # Kept beside the database, readable only by its owner, for whoever missed the console
    # line. Created with mode 0600 (never briefly readable by others); an older file is
    # truncated and narrowed too.
    path = data_dir / "admin-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (password + "\n").encode())
    finally:
        os.close(fd)
