"""Where the schema should be, read from the migration files without alembic, agrees with
alembic; the current revision read in plain SQL agrees too."""

from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import MigrationContext

from opsloop.core import migrate
from opsloop.core.db import Database


def _write(folder: Path, name: str, revision: str, down: str) -> None:
    (folder / f"{name}.py").write_text(f'revision = "{revision}"\ndown_revision = {down}\n')


def test_head_read_from_the_files_is_alembics_head() -> None:
    assert migrate._head_from_files(migrate._VERSIONS) == migrate._head_from_alembic()
    assert migrate.head_revision() == migrate._head_from_alembic()


def test_unclear_histories_are_left_to_alembic(tmp_path: Path) -> None:
    _write(tmp_path, "a", "a", "None")
    _write(tmp_path, "b", "b", '"a"')
    assert migrate._head_from_files(tmp_path) == "b"
    _write(tmp_path, "c", "c", '"a"')  # two heads
    assert migrate._head_from_files(tmp_path) is None
    _write(tmp_path, "d", "d", '("b", "c")')  # merged again
    assert migrate._head_from_files(tmp_path) == "d"
    (tmp_path / "e.py").write_text("revision = make_one()\n")
    assert migrate._head_from_files(tmp_path) is None


def test_current_revision_is_alembics(db: Database) -> None:
    with db.engine.connect() as conn:
        assert (
            migrate.current_revision(db.engine)
            == MigrationContext.configure(conn).get_current_revision()
        )
    assert not migrate.pending(db.engine)
