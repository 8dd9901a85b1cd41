"""Importing past incidents from CSV: all or nothing (a bad row names its row and column and
nothing is written), keys kept or numbered through the year's counter, a second import of the
same file skipped, one audit record per import; the service, the CLI, the API and the page.
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM, Role
from opsloop.core.db import Database
from opsloop.core.errors import ValidationFailed
from opsloop.incidents import csv_import
from opsloop.incidents import service as incidents
from opsloop.incidents.models import Incident, IncidentService, TimelineEvent
from opsloop.incidents.rules import Severity, Status
from tests.cli_run import Invoked, assert_clean_failure, invoke
from tests.helpers import bearer
from tests.incidents.helpers import make_people, make_service
from tests.services.helpers import actions, audit_count
from tests.web.pages import sign_in

HEADER = (
    "key,title,severity,status,services,started_at,detected_at,acknowledged_at,mitigated_at,"
    "resolved_at,closed_at,detection_method,summary,commander"
)
GOOD = "\n".join(
    [
        HEADER,
        ",DB failover,SEV1,,checkout;search,2026-10-01T10:00:00Z,2026-10-01T10:05:00Z,"
        "2026-10-01T10:10:00Z,,2026-10-01T12:00:00Z,,alert,primary lost,alice",
        "INC-2025-042,Old outage,sev2,closed,checkout,2025-03-01T10:00:00+01:00,,,,"
        "2025-03-01T11:00:00+01:00,2025-03-02T09:00:00Z,,,",
        ',"Slow search, again",3,investigating,,2026-10-20T10:00:00Z,,,,,,user_report,,',
        ",Earlier failover,SEV2,resolved,search,2025-12-31T23:00:00-02:00,,,,"
        "2026-01-01T03:00:00Z,,,,",
    ]
)


@pytest.fixture
def catalog(db: Database) -> None:
    make_service(db, "checkout")
    make_service(db, "search")
    make_people(db, "alice")


def _import(db: Database, content: str, **kwargs: object) -> csv_import.ImportResult:
    with db.write() as session:
        return csv_import.import_csv(session, principal=SYSTEM, content=content, **kwargs)  # type: ignore[arg-type]


def _count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Incident)) or 0)


def test_import_keys_counter_and_second_import(
    db: Database, catalog: None, frozen_clock: clock.FrozenClock
) -> None:
    before = audit_count(db)
    dry = _import(db, GOOD, dry_run=True)
    assert (dry.rows, dry.created, dry.dry_run) == (4, 4, True)
    assert _count(db) == 0 and audit_count(db) == before
    done = _import(db, GOOD, source="past.csv")
    assert (done.rows, done.created, done.skipped) == (4, 4, 0)
    # Numbered by start year (UTC): 2026's first two, and 2026-01-01T01:00Z for the last row.
    assert done.keys == ["INC-2026-001", "INC-2025-042", "INC-2026-002", "INC-2026-003"]
    assert audit_count(db) == before + 1 and actions(db, "incident")[-1] == "incident.import"
    with db.read() as session:
        failover = incidents.get_incident(session, key="INC-2026-001")
        old = incidents.get_incident(session, key="INC-2025-042")
        events = session.scalar(select(func.count()).select_from(TimelineEvent))
    assert failover.services == ("checkout", "search") and failover.commander == "alice"
    assert failover.severity == Severity.SEV1 and failover.status == Status.resolved
    assert failover.summary == "primary lost" and failover.detection_method.value == "alert"
    assert old.status == Status.closed and old.started_at.hour == 9  # stored in UTC
    assert events == 4
    again = _import(db, GOOD)
    assert (again.created, again.skipped) == (0, 4)
    assert _count(db) == 4 and audit_count(db) == before + 2
    with db.write() as session:
        # The counters moved past what the import used: the next keys follow on.
        assert incidents.next_number(session, 2025) == 43
        assert incidents.next_number(session, 2026) == 4


@pytest.mark.parametrize(
    ("row", "column", "says"),
    [
        (",Bad,SEV1,,checkout,2026-10-01 nope,,,,,,,,", "started_at", "not an ISO 8601 time"),
        (",Bad,SEV1,,checkout,2026-10-01T10:00:00,,,,,,,,", "started_at", "time zone"),
        (",Bad,SEV9,,checkout,2026-10-01T10:00:00Z,,,,,,,,", "severity", "unknown severity"),
        (",Bad,SEV1,,nowhere,2026-10-01T10:00:00Z,,,,,,,,", "services", "no service 'nowhere'"),
        (
            ",Bad,SEV1,,checkout,2026-10-01T10:00:00Z,,,,2026-10-01T09:00:00Z,,,,",
            "resolved_at",
            "before the incident started",
        ),
        (",Bad,SEV1,resolved,,2026-10-01T10:00:00Z,,,,,,,,", "resolved_at", "required"),
        (",,SEV1,,,2026-10-01T10:00:00Z,,,,,,,,", "title", "must not be empty"),
        ("INC-2026-1,Bad,SEV1,,,2026-10-01T10:00:00Z,,,,,,,,", "key", "not an incident key"),
        ("INC-2025-042,Twice,SEV1,,,2026-10-01T10:00:00Z,,,,,,,,", "key", "same key as row 3"),
        (",Bad,SEV1,,,2026-10-01T10:00:00Z,,,,,,,,bob", "commander", "no opsloop user"),
        (",Bad,SEV1,,,2027-10-01T10:00:00Z,,,,,,,,", "started_at", "future"),
    ],
)
def test_a_bad_row_names_row_and_column_and_nothing_is_written(
    db: Database, catalog: None, frozen_clock: clock.FrozenClock, row: str, column: str, says: str
) -> None:
    before = audit_count(db)
    content = GOOD + "\n" + row
    with pytest.raises(ValidationFailed) as failed:
        _import(db, content)
    assert failed.value.message.startswith(f"row 6, {column}: "), failed.value.message
    assert says in failed.value.message
    assert failed.value.field == f"rows[6].{column}"
    assert _count(db) == 0 and audit_count(db) == before
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(IncidentService)) == 0


def test_header_problems(db: Database, frozen_clock: clock.FrozenClock) -> None:
    for content, field in (
        ("title,severity\nx,SEV1\n", "rows[1].started_at"),
        ("title,severity,started_at,colour\n", "rows[1].colour"),
        ("title,severity,started_at\nx,SEV1,2026-10-01T10:00:00Z,extra\n", "rows[2].-"),
        (
            "title,severity,started_at\n" + "x" * 200_000 + ",SEV1,2026-10-01T10:00:00Z\n",
            "rows[2].-",
        ),
    ):
        with pytest.raises(ValidationFailed) as failed:
            _import(db, content)
        assert failed.value.field == field


def test_api_import(
    client: TestClient, tokens: dict[Role, str], db: Database, catalog: None,
    frozen_clock: clock.FrozenClock,
) -> None:  # fmt: skip
    url = "/api/v1/incidents/import"
    csv_type = {"content-type": "text/csv"}
    approver = {**bearer(tokens[Role.approver]), **csv_type}
    refused = client.post(url, content=GOOD, headers={**bearer(tokens[Role.responder]), **csv_type})
    assert refused.status_code == 403
    assert client.post(url, content=GOOD, headers=bearer(tokens[Role.approver])).status_code == 415
    bad = client.post(url, content=GOOD + "\n,Bad,SEV1,,,x,,,,,,,,", headers=approver)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "rows[6].started_at"
    dry = client.post(url + "?dry_run=true", content=GOOD, headers=approver)
    assert dry.status_code == 200 and dry.json()["created"] == 4 and _count(db) == 0
    created = client.post(url, content=GOOD, headers=approver)
    assert created.status_code == 201, created.text
    assert created.json()["keys"][1] == "INC-2025-042"
    again = client.post(url, content=GOOD, headers=approver)
    assert again.status_code == 200 and again.json()["skipped"] == 4 and _count(db) == 4
    # Not read as an incident key: the path answers POST only.
    options = client.options(url, headers=approver)
    assert options.headers["allow"] == "OPTIONS, POST"
    assert client.get(url, headers=approver).status_code == 405
    assert client.get(f"/api/v1/incidents/{created.json()['keys'][0]}", headers=approver).is_success


def test_cli_import(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database,
    catalog: None, tmp_path: object,
) -> None:  # fmt: skip
    from pathlib import Path

    def run(*args: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args)

    good = Path(str(tmp_path)) / "past.csv"
    good.write_text(GOOD)
    bad = Path(str(tmp_path)) / "bad.csv"
    bad.write_text(GOOD + "\n,Bad,SEV1,,checkout,2026-13-01T00:00:00Z,,,,,,,,\n")
    line = assert_clean_failure(run("incident", "import", str(bad)))
    assert "row 6, started_at" in line and _count(db) == 0
    dry = run("incident", "import", str(good), "--dry-run")
    assert dry.returncode == 0 and "would import 4" in dry.stdout and _count(db) == 0
    done = run("incident", "import", str(good))
    assert done.returncode == 0 and "imported 4 incidents" in done.stdout, done.stderr
    assert "imported 0 incidents" in run("incident", "import", str(good)).stdout
    assert _count(db) == 4
    assert "import" in run("incident", "--help").stdout


def test_web_upload(
    client: TestClient, tokens: dict[Role, str], db: Database, catalog: None,
    frozen_clock: clock.FrozenClock,
) -> None:  # fmt: skip
    csrf = sign_in(client, "responder")
    page = client.get("/reliability")
    assert page.status_code == 200 and 'data-testid="import"' not in page.text
    csrf = sign_in(client, "approver")
    assert 'data-testid="import"' in client.get("/reliability").text
    files = {"file": ("past.csv", GOOD.encode(), "text/csv")}
    bad = {"file": ("bad.csv", (GOOD + "\n,x,SEV7,,,2026-10-01T00:00Z").encode(), "text/csv")}
    refused = client.post("/reliability/import", data={"csrf_token": csrf}, files=bad)
    assert refused.status_code == 422 and "row 6, severity" in refused.text and _count(db) == 0
    done = client.post("/reliability/import", data={"csrf_token": csrf}, files=files)
    assert done.status_code == 200 and 'data-testid="import-result">Imported 4' in done.text
    assert _count(db) == 4


def test_api_import_takes_bodies_up_to_the_push_limit(
    client: TestClient, tokens: dict[Role, str], db: Database, frozen_clock: clock.FrozenClock
) -> None:
    headers = {**bearer(tokens[Role.approver]), "content-type": "text/csv"}
    long_row = ",x,SEV1,,,2026-10-01T10:00:00Z,,,,,,," + "s" * 100_000 + ",\n"
    over_a_mib = HEADER + "\n" + long_row * 11  # past the 1 MiB of other bodies
    checked = client.post("/api/v1/incidents/import", content=over_a_mib, headers=headers)
    assert checked.status_code == 422, checked.text[:300]  # read and refused for its content
    assert checked.json()["error"]["field"] == "rows[2].summary"
    too_large = HEADER + "\n" + long_row * 45  # past the 4 MiB push limit
    refused = client.post("/api/v1/incidents/import", content=too_large, headers=headers)
    assert refused.status_code == 413 and _count(db) == 0
