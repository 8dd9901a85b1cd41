"""Small builders used across the suite."""

from __future__ import annotations

from sqlalchemy import text

from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.db import Database


def make_user(db: Database, username: str, role: Role, password: str | None = None) -> None:
    with db.write() as session:
        auth.create_user(session, SYSTEM, username, role, password=password)


def make_token(db: Database, username: str, role: Role) -> str:
    with db.write() as session:
        _, plaintext = auth.create_token(session, SYSTEM, username, role)
    return plaintext


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def drop_append_only_guard(db: Database) -> None:
    """What an attacker with database access would do first."""
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_records DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_records_no_update"))
            conn.execute(text("DROP TRIGGER audit_records_no_delete"))
