"""Specs in and out through the API and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Role
from opsloop.core.db import Database
from opsloop.slo.spec import parse_documents
from tests.helpers import bearer

FIXTURES = Path(__file__).parent / "fixtures"
OPSLOOP = str(Path(sys.executable).parent / "opsloop")
YAML = {"Content-Type": "application/yaml"}


def apply(client: TestClient, token: str, text: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/slos/apply", content=text, headers={**bearer(token), **YAML})


def test_apply_is_idempotent_and_audited(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    text = (FIXTURES / "sloth_service.yaml").read_text()
    first = apply(client, tokens[Role.approver], text)
    assert first.status_code == 201, first.text
    assert {a["outcome"] for a in first.json()} == {"created"}
    second = apply(client, tokens[Role.approver], text)
    assert second.status_code == 200, second.text
    assert {a["outcome"] for a in second.json()} == {"unchanged"}
    changed = text.replace("objective: 99.9", "objective: 99.5", 1)
    third = apply(client, tokens[Role.approver], changed)
    assert sorted(a["outcome"] for a in third.json()) == ["unchanged", "updated"]
    with db.read() as session:
        updates = list(audit.iterate(session, flt=audit.AuditFilter(action="slo.update")))
    assert len(updates) == 1
    assert audit.to_dict(updates[0])["changes"]["objective"] == {"before": 99.9, "after": 99.5}
    listed = client.get("/api/v1/slos", headers=bearer(tokens[Role.viewer])).json()["items"]
    assert {s["service"] for s in listed} == {"payments-api"}
    assert all(s["source"] == "prometheus" for s in listed)


def test_a_bad_document_applies_nothing_and_names_the_path(
    client: TestClient, tokens: dict[Role, str], db: Database
) -> None:
    good = (FIXTURES / "checkout_availability.yaml").read_text()
    broken = good.replace("  service: checkout", "  service: checkout-two").replace(
        "        total:\n", "        totl:\n"
    )
    before = client.get("/api/v1/slos", headers=bearer(tokens[Role.viewer])).json()["items"]
    response = apply(client, tokens[Role.approver], good + "\n---\n" + broken)
    assert response.status_code == 422
    error = response.json()["error"]
    assert "documents[1]" in error["message"] and "ratioMetric.total: missing" in error["message"]
    after = client.get("/api/v1/slos", headers=bearer(tokens[Role.viewer])).json()["items"]
    assert after == before


def test_apply_needs_approver_and_yaml(client: TestClient, tokens: dict[Role, str]) -> None:
    text = (FIXTURES / "checkout_availability.yaml").read_text()
    assert apply(client, tokens[Role.responder], text).status_code == 403
    wrong_type = client.post(
        "/api/v1/slos/apply", json={"x": 1}, headers=bearer(tokens[Role.approver])
    )
    assert wrong_type.status_code == 415 and wrong_type.json()["error"]["field"] == "body"
    garbage = apply(client, tokens[Role.approver], "key: [unclosed")
    assert garbage.status_code == 422 and "invalid YAML" in garbage.json()["error"]["message"]


def test_export_round_trips_and_rules_cover_prometheus_slos(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    text = (FIXTURES / "checkout_availability.yaml").read_text()
    apply(client, tokens[Role.approver], text)
    client.post(
        "/api/v1/slos",
        json={"service": "batch", "name": "jobs", "objective": 99},
        headers=bearer(tokens[Role.approver]),
    )
    exported = client.get("/api/v1/slos/export", headers=bearer(tokens[Role.viewer])).text
    assert {(d.service, d.name) for d in parse_documents(exported)} == {
        ("checkout", "availability"),
        ("batch", "jobs"),
    }
    assert parse_documents(exported) == parse_documents(
        client.get("/api/v1/slos/export", headers=bearer(tokens[Role.viewer])).text
    )
    rules = yaml.safe_load(
        client.get("/api/v1/slos/rules", headers=bearer(tokens[Role.viewer])).text
    )
    names = [g["name"] for g in rules["groups"]]
    assert len(names) == 1 and "checkout" in names[0]  # pushed SLOs have no Prometheus series


def test_cli_apply_status_budget_and_rules(db: Database, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLOOP_")}
    env["OPSLOOP_DATABASE_URL"] = db.url

    def run(*args: str):  # type: ignore[no-untyped-def]
        return subprocess.run([OPSLOOP, *args], capture_output=True, text=True, env=env, timeout=60)

    applied = run("slo", "apply", "-f", str(FIXTURES / "checkout_availability.yaml"))
    assert applied.returncode == 0 and "checkout/availability: created" in applied.stdout
    status = json.loads(run("slo", "status", "--json").stdout)
    assert status[0]["status"] == "no_data"
    assert "OPSLOOP_PROMETHEUS_URL" in status[0]["no_data_reason"]
    budget = run("slo", "budget", "checkout/availability")
    assert budget.returncode == 0 and "no data" in budget.stdout
    out = tmp_path / "rules.yml"
    assert run("slo", "rules", "-o", str(out)).returncode == 0
    check = subprocess.run(["promtool", "check", "rules", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    missing = run("slo", "apply", "-f", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: prometheus/v1\nservice: x\nslos:\n  - name: a\n")
    rejected = run("slo", "apply", "-f", str(bad))
    assert rejected.returncode == 2
    assert "slos[0].objective: missing" in rejected.stderr
    assert run("slo", "reset", "checkout/availability", "--reason", "drill").returncode == 0
