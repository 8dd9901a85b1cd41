"""Schema migrations, applied programmatically by ``opsloop db upgrade`` and at ``serve`` start.

Knowing where the schema is and where it should be needs no alembic: the current revision is
one row of ``alembic_version`` and the head is read from the migration files' text. Alembic,
and the migration modules it imports, is loaded only when there is something to migrate, so
``/readyz``, every CLI command and a ``serve`` start on an up-to-date database skip it.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

# Any fixed 64-bit number: replicas starting together must not migrate at the same time.
_MIGRATION_LOCK_KEY = 0x6F70_736C_6F6F_7002
_VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"
_VERSION_TABLE = "alembic_version"
_READ_VERSION = text("SELECT version_num FROM alembic_version")


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "opsloop:migrations")
    return cfg


@cache
def head_revision() -> str | None:
    """The revision the newest migration file creates."""
    return _head_from_files(_VERSIONS) or _head_from_alembic()


def _head_from_files(versions: Path) -> str | None:
    """The one revision no other migration revises, from the files' ``revision`` and
    ``down_revision`` assignments; None when that is not clear-cut (alembic decides then)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in versions.glob("*.py"):
        found: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id in ("revision", "down_revision")
            ):
                try:
                    found[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    return None
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, tuple | list):
            revised.update(str(d) for d in down)
        elif down is not None:
            return None
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _head_from_alembic() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table(_VERSION_TABLE):
            return None
        rows = conn.execute(_READ_VERSION).scalars().all()
    if len(rows) > 1:  # several branches: alembic's error says what is wrong
        from alembic.runtime.migration import MigrationContext

        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    return str(rows[0]) if rows else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    if revision == "head" and not pending(engine):
        return
    from alembic import command

    cfg = _config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def pending(engine: Engine) -> bool:
    return current_revision(engine) != head_revision()
