"""The SLO commands: what they print, what they refuse and their exit codes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.slo import evaluation, ingestion
from opsloop.slo import service as slo_service
from opsloop.slo.events import floor_minute
from tests.cli_run import Invoked, assert_clean_failure, invoke, run

FIXTURES = Path(__file__).parent / "fixtures"

# name -> (objective, good per 1000 in the last hour, a day of clean traffic before it)
PUSHED = {
    "healthy-checkout": (99.0, 1000, True),
    # 20 % errors for an hour: 1h and 5m burn 20x (above the 14.4x page factor); the day
    # before keeps the period's ratio at 12000 / 1 440 000 = 0.83 %, inside the 1 % budget.
    "burning-search": (99.0, 800, True),
    # 50 % errors and nothing else: the 0.1 % budget is gone.
    "spent-billing": (99.9, 500, False),
}


def make_slos(db: Database) -> None:
    now = floor_minute(clock.now())
    with db.write() as session:
        slo_service.apply_specs(
            session,
            principal=SYSTEM,
            text=(FIXTURES / "checkout_availability.yaml").read_text(),
            source="fixture",
        )
        for ref, (objective, good, history) in PUSHED.items():
            name, service = ref.split("-")
            defn = slo_service.pushed_definition(
                service=service,
                name=name,
                objective=objective,
                window="7d",
                time_zone="UTC",
                sli_kind="availability",
                description="",
                owner="",
                labels={},
            )
            slo = slo_service.get_slo(
                session,
                ref=slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id,
            )
            minutes = [(now - timedelta(minutes=i), good, 1000) for i in range(1, 61)]
            if history:
                minutes += [(now - timedelta(minutes=i), 1000, 1000) for i in range(61, 1441)]
            ingestion.push_events(session, principal=SYSTEM, slo=slo, raw=minutes)
    # An evaluation 3 minutes ago saw the burn start, so the page (for: 2m) fires by now.
    evaluation.evaluate(db, now=now - timedelta(minutes=3))


def audit_count(db: Database) -> int:
    with db.read() as session:
        return audit.count(session)


@pytest.fixture
def cli(db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def call(*args: str, **env: str) -> Invoked:
        return invoke(capsys, monkeypatch, db, *args, **env)

    return call


def test_status_keeps_every_column_in_80_columns_when_piped(db: Database) -> None:
    make_slos(db)
    for env in ({}, {"COLUMNS": "80"}):
        result = run(db, "slo", "status", **env)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert all(len(line) <= 80 for line in lines), result.stdout
        assert lines[0].split() == [
            "health", "SLO", "target", "SLI", "budget", "burn1h", "burn6h", "policy",
        ]  # fmt: skip
        parts = [line.replace("no data", "no_data").split() for line in lines[1:]]
        rows = {row[1]: row for row in parts}
        assert all(len(row) == 8 for row in parts), result.stdout
        assert set(rows) == {
            "checkout/availability", "checkout/healthy", "search/burning", "billing/spent",
        }  # fmt: skip
        assert rows["checkout/availability"][0] == "no_data"
        assert rows["checkout/healthy"][0] == "ok"
        assert rows["search/burning"][0] == "alerting"
        assert rows["billing/spent"][0] == "exhausted"
        assert "✓" not in result.stdout


def test_status_health_follows_alerts_and_budget(cli, db: Database) -> None:  # type: ignore[no-untyped-def]
    make_slos(db)
    result = cli("slo", "status", "--json")
    assert result.returncode == 0, result.stderr
    rows = {f"{r['service']}/{r['name']}": r for r in json.loads(result.stdout)}
    firing = {ref for ref, r in rows.items() if any(a["firing"] for a in r["alerts"])}
    assert "search/burning" in firing and "checkout/healthy" not in firing
    assert {ref: r["health"] for ref, r in rows.items()} == {
        "checkout/availability": "no data",
        "checkout/healthy": "ok",
        "search/burning": "alerting",
        "billing/spent": "exhausted",
    }


def test_unknown_service_and_no_slos_say_so(cli, db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = cli("slo", "status")
    assert empty.returncode == 0 and empty.stdout == ""
    assert "no SLOs yet" in empty.stderr and "opsloop slo apply" in empty.stderr
    assert "no SLOs yet" in assert_clean_failure(cli("slo", "rules"))
    make_slos(db)
    for command in ("status", "rules", "export"):
        line = assert_clean_failure(cli("slo", command, "--service", "nosuch"))
        assert line == "error: no SLOs for service 'nosuch'; services: billing, checkout, search"
    out = tmp_path / "rules.yml"
    line = assert_clean_failure(cli("slo", "rules", "--service", "search", "-o", str(out)))
    assert "push SLOs need no rules" in line and "service 'search'" in line
    assert not out.exists()
    rules = cli("slo", "rules", "--service", "checkout")
    assert rules.returncode == 0 and "checkout" in rules.stdout


def test_apply_of_a_file_without_documents_is_refused(cli, db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = FIXTURES / "checkout_availability.yaml"
    for content in ("", "# nothing here\n", "---\n---\n"):
        empty = tmp_path / "empty.yaml"
        empty.write_text(content)
        line = assert_clean_failure(cli("slo", "apply", "-f", str(good), "-f", str(empty)))
        assert line == f"error: {empty}: the file holds no SLO documents (nothing was applied)"
    assert audit_count(db) == 0


def test_delete_asks_or_needs_yes(cli, db: Database) -> None:  # type: ignore[no-untyped-def]
    make_slos(db)
    refused = run(db, "slo", "delete", "search/burning")  # stdin is not a terminal
    line = assert_clean_failure(refused)
    assert "search/burning" in line and "--yes" in line
    before = audit_count(db)
    with db.read() as session:
        assert slo_service.get_slo(session, ref="search/burning")
    deleted = cli("slo", "delete", "burning", "--yes")
    assert deleted.returncode == 0 and "deleted search/burning" in deleted.stdout
    assert audit_count(db) == before + 1
    assert "did you mean search/burning" not in cli("slo", "delete", "burning", "-y").stderr


def test_unknown_slo_shows_the_naming_and_candidates(cli, db: Database) -> None:  # type: ignore[no-untyped-def]
    assert "there are no SLOs yet" in assert_clean_failure(cli("slo", "budget", "checkout"))
    make_slos(db)
    line = assert_clean_failure(cli("slo", "budget", "checkout"))
    assert line == (
        "error: no SLO 'checkout'; 'checkout' is a service; name one of its SLOs: "
        "checkout/availability, checkout/healthy"
    )
    line = assert_clean_failure(cli("slo", "reset", "search/burnin", "--reason", "x"))
    assert line.endswith("did you mean search/burning?") and "(slo)" not in line
    line = assert_clean_failure(cli("slo", "budget", "zzz"))
    assert "service/name" in line and "billing/spent" in line and "search/burning" in line


POLICY = """tiers:
  - {threshold: 1.0, state: fine, action: ship}
  - {threshold: 0.5, state: careful, action: slow down}
  - {threshold: 0.1, state: freeze, action: stop, approver: vp}
"""


def test_policy_set_reports_like_apply(cli, db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_slos(db)
    before = audit_count(db)
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("tiers:\n  - threshold: [1\n")
    line = assert_clean_failure(cli("slo", "policy", "set", "search", "-f", str(bad_yaml)))
    assert line.startswith(f"error: {bad_yaml}: line ") and "invalid YAML" in line
    assert line.endswith("(nothing was applied)") and "unicode string" not in line
    bad_tiers = tmp_path / "tiers.yaml"
    bad_tiers.write_text("tiers: [{threshold: 0.5}]\n")
    line = assert_clean_failure(cli("slo", "policy", "set", "search", "-f", str(bad_tiers)))
    assert line.startswith(f"error: {bad_tiers}: ") and line.endswith("(nothing was applied)")
    good = tmp_path / "policy.yaml"
    good.write_text(POLICY)
    line = assert_clean_failure(cli("slo", "policy", "set", "nosuchsvc", "-f", str(good)))
    assert "no SLOs for service 'nosuchsvc'" in line and "(nothing was applied)" in line
    assert audit_count(db) == before
    done = cli("slo", "policy", "set", "search", "-f", str(good))
    assert done.returncode == 0 and audit_count(db) == before + 1


def test_export_writes_what_fits_and_names_the_rest(cli, db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_slos(db)
    none = cli("slo", "export", "--service", "search", "--format", "sloth")
    assert none.returncode == 2 and none.stdout == ""
    assert none.stderr.splitlines() == [
        "skipped search/burning: search/burning.window: Sloth SLOs always use a rolling 30d window",
        "error: none of the SLOs can be expressed as sloth",
    ]
    with db.write() as session:
        slo_service.apply_specs(
            session,
            principal=SYSTEM,
            text=(FIXTURES / "sloth_service.yaml").read_text(),
            source="f",
        )
    out = tmp_path / "sloth.yaml"
    result = cli("slo", "export", "--format", "sloth", "-o", str(out))
    assert result.returncode == 1
    exported = out.read_text()
    assert "payments-api" in exported and "service: checkout" in exported
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    assert sorted(line.split()[1].rstrip(":") for line in skipped) == [
        "billing/spent", "checkout/healthy", "search/burning",
    ]  # fmt: skip
    assert "exported 3 SLOs, skipped 3" in result.stderr
    whole = cli("slo", "export", "--service", "payments-api", "--format", "sloth")
    assert whole.returncode == 0 and whole.stderr == "" and "payments-api" in whole.stdout
    openslo = cli("slo", "export")
    assert openslo.returncode == 0 and openslo.stdout.count("kind: SLO") == 6
