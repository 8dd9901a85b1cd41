"""First start: an admin account, and demo data so a newcomer sees a working opsloop."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.config import Settings
from opsloop.core.db import Database

ADMIN_USERNAME = "admin"
DEMO_PASSWORD = "opsloop-demo"  # noqa: S105 - published on purpose; demo users only

Seeder = Callable[[Session], None]


def _demo_users(session: Session) -> None:
    for username, role, name in (
        ("alice", Role.responder, "Alice (on-call SRE)"),
        ("bob", Role.approver, "Bob (engineering manager)"),
        ("carol", Role.viewer, "Carol (product)"),
    ):
        auth.create_user(session, SYSTEM, username, role, display_name=name, password=DEMO_PASSWORD)


def first_start(
    db: Database, settings: Settings, domain_seeders: Sequence[Seeder] = ()
) -> str | None:
    """Create the admin (and demo data) on an empty database.

    Returns the admin password when opsloop generated it, so it can be shown once.
    """
    with db.write() as session:
        if auth.counts(session)["users"]:
            return None
        given = settings.admin_password.get_secret_value()
        password = given or secrets.token_urlsafe(12)
        auth.create_user(
            session,
            SYSTEM,
            ADMIN_USERNAME,
            Role.admin,
            display_name="Administrator",
            password=password,
        )
        if settings.demo_data:
            for seed in (_demo_users, *domain_seeders):
                seed(session)
    if given:
        return None
    _remember(settings.data_dir, password)
    return password


def _remember(data_dir: Path, password: str) -> None:
    # Kept beside the database, readable only by its owner, for whoever missed the console line.
    path = data_dir / "admin-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
