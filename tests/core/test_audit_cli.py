"""The audit commands as an operator runs them from cron: head as an anchor, verify against it."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from sqlalchemy import text

from opsloop.core.audit.chain import FIELDS, Link
from opsloop.core.audit.models import AuditRecord
from opsloop.core.audit.schemas import AuditRecordOut
from opsloop.core.db import Database
from tests.core.test_cli import run
from tests.helpers import append_only_guard_dropped


def test_head_json_verify_full_and_an_emptied_table(db: Database, tmp_path: Path) -> None:
    for name in ("g1", "g2", "g3"):
        assert run(db, "user", "create", name, "--role", "viewer").returncode == 0
    head = json.loads(run(db, "audit", "head", "--json").stdout)
    assert head["seq"] == 3 and head["anchor"] == f"3:{head['hash']}"
    anchors = tmp_path / "anchors.txt"
    anchors.write_text(run(db, "audit", "head").stdout)

    first = run(db, "audit", "verify")
    assert first.returncode == 0 and "intact: 3 records, head" in first.stdout
    run(db, "user", "create", "g4", "--role", "viewer")
    second = run(db, "audit", "verify")
    assert "intact: 4 records (1 checked after record 3)" in second.stdout
    full = run(db, "audit", "verify", "--full")
    assert full.returncode == 0 and "intact: 4 records, head" in full.stdout

    with append_only_guard_dropped(db), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records"))
    emptied = run(db, "audit", "verify")
    assert emptied.returncode == 1 and "truncated" in emptied.stderr
    anchored = run(db, "audit", "verify", "--anchor", anchors.read_text().strip())
    assert anchored.returncode == 1 and "record 1" in anchored.stderr


def test_the_record_fields_have_one_definition() -> None:
    # Link defines them; the table, the API schema and the export follow it in the same order.
    assert tuple(f.name for f in fields(Link)) == FIELDS
    assert tuple(c.name for c in AuditRecord.__table__.columns) == FIELDS
    assert tuple(AuditRecordOut.model_fields) == FIELDS
