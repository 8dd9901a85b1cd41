"""Schema migrations, applied programmatically by ``opsloop db upgrade`` and at ``serve`` start."""

from __future__ import annotations

from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

# Any fixed 64-bit number: replicas starting together must not migrate at the same time.
_MIGRATION_LOCK_KEY = 0x6F70_736C_6F6F_7002


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "opsloop:migrations")
    return cfg


@cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = _config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def pending(engine: Engine) -> bool:
    return current_revision(engine) != head_revision()
