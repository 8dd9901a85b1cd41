"""The evidence export: a period's changes, approvals, history and audit records as CSV and
JSON with a SHA-256 manifest, the same bytes each time, the check that finds a tampered file,
and the same files as a zip through the API. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsloop.changes import recording
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from tests.changes.helpers import ADMIN, BOB, act, make_people, make_service, raise_change
from tests.cli_run import Invoked, assert_clean_failure, invoke
from tests.helpers import bearer

DATA = [
    f"{name}.{kind}"
    for name in ("approvals", "audit", "changes", "history")
    for kind in ("csv", "json")
]


@pytest.fixture
def opsloop(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database):  # type: ignore[no-untyped-def]
    def run(*args: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args)

    return run


@pytest.fixture
def november(db: Database, at_now: clock.FrozenClock) -> clock.FrozenClock:
    """Three changes in November 2026 (one approved, one a recorded deployment) and one in
    December, which the November export leaves out."""
    make_service(db, "checkout")
    make_people(db)
    raise_change(db, title="Add an index, with a comma")
    act(db, "approve", "CR-2026-001", who=BOB, comment='ok, "quoted"')
    raise_change(db, title="Resize")
    with db.write() as session:
        recording.record_deployment(
            session, principal=ADMIN, service="checkout", version="7.0", pipeline_run="r1"
        )
    at_now.current += timedelta(days=40)
    raise_change(db, title="December")
    return at_now


def _sums(directory: Path) -> dict[str, str]:
    return {n: hashlib.sha256((directory / n).read_bytes()).hexdigest() for n in DATA}


def test_export_verify_and_tamper(opsloop, november: clock.FrozenClock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first, second = tmp_path / "a", tmp_path / "b"
    done = opsloop("change", "evidence", "--period", "2026-11", "-o", str(first))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("3 changes, 9 files written")
    manifest = json.loads((first / "manifest.json").read_text())
    assert sorted(manifest["files"]) == DATA
    assert manifest["period"] == {
        "since": "2026-11-01T00:00:00.000000+00:00",
        "until": "2026-12-01T00:00:00.000000+00:00",
    }
    assert {n: f["sha256"] for n, f in manifest["files"].items()} == _sums(first)
    changes = list(csv.DictReader(io.StringIO((first / "changes.csv").read_text())))
    assert [c["key"] for c in changes] == ["CR-2026-001", "CR-2026-002", "CR-2026-003"]
    assert changes[0]["title"] == "Add an index, with a comma" and changes[2]["version"] == "7.0"
    approvals = json.loads((first / "approvals.json").read_text())
    assert approvals == [
        {
            "change": "CR-2026-001",
            "approver": "bob",
            "decision": "approve",
            "comment": 'ok, "quoted"',
            "at": "2026-11-02T09:00:00.000000+00:00",
        }
    ]
    audit = json.loads((first / "audit.json").read_text())
    assert [(a["entity_id"], a["action"]) for a in audit] == [
        ("CR-2026-001", "change.create"),
        ("CR-2026-001", "change.submit"),
        ("CR-2026-001", "change.approve"),
        ("CR-2026-002", "change.create"),
        ("CR-2026-002", "change.submit"),
        ("CR-2026-003", "change.record"),
    ]
    assert all(len(a["hash"]) == 64 for a in audit)
    history = json.loads((first / "history.json").read_text())
    assert {h["change"] for h in history} == {"CR-2026-001", "CR-2026-002", "CR-2026-003"}
    assert opsloop("change", "evidence", "--verify", str(first)).returncode == 0
    # The same period again: the same bytes; later, only generated_at differs.
    opsloop("change", "evidence", "--period", "2026-11", "-o", str(second))
    assert (first / "manifest.json").read_bytes() == (second / "manifest.json").read_bytes()
    november.current += timedelta(hours=1)
    later = tmp_path / "c"
    opsloop("change", "evidence", "--period", "2026-11", "-o", str(later))
    assert _sums(later) == _sums(first)
    again = json.loads((later / "manifest.json").read_text())
    assert again["generated_at"] != manifest["generated_at"]
    assert {**again, "generated_at": None} == {**manifest, "generated_at": None}
    # One changed byte, and the check names the file and fails.
    path = first / "approvals.csv"
    path.write_text(path.read_text().replace("bob", "eve"))
    checked = opsloop("change", "evidence", "--verify", str(first))
    assert checked.returncode == 1
    assert checked.stdout.startswith("approvals.csv: SHA-256")
    (second / "changes.json").unlink()
    assert "changes.json: missing" in opsloop("change", "evidence", "--verify", str(second)).stdout


def test_refusals_exit_2(opsloop, november: clock.FrozenClock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "period" in assert_clean_failure(
        opsloop("change", "evidence", "--period", "2026-13", "-o", str(tmp_path))
    )
    assert "-o" in assert_clean_failure(opsloop("change", "evidence", "--period", "2026-11"))
    assert "--period" in assert_clean_failure(opsloop("change", "evidence", "-o", str(tmp_path)))


def test_the_api_answers_the_same_files_in_a_zip(
    client: TestClient,
    november: clock.FrozenClock,
    tokens: dict[Role, str],
    opsloop,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    answer = client.get(
        "/api/v1/changes/evidence?period=2026-11", headers=bearer(tokens[Role.approver])
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert sorted(archive.namelist()) == sorted([*DATA, "manifest.json"])
    opsloop("change", "evidence", "--period", "2026-11", "-o", str(tmp_path))
    for name in archive.namelist():
        assert archive.read(name) == (tmp_path / name).read_bytes(), name
    again = client.get(
        "/api/v1/changes/evidence?period=2026-11", headers=bearer(tokens[Role.approver])
    )
    assert again.content == answer.content
    responder = client.get(
        "/api/v1/changes/evidence?period=2026-11", headers=bearer(tokens[Role.responder])
    )
    assert responder.status_code == 403
    bad = client.get("/api/v1/changes/evidence?period=11-2026", headers=bearer(tokens[Role.admin]))
    assert bad.status_code == 422 and "period" in bad.text
