"""The side-by-side harness (benchmarks/perf) without servers: what it seeds is valid opsloop
data, its case selection seeds only what the chosen cases need, and its report judges results
against the targets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from opsloop.alerts.alertmanager_payload import WebhookIn
from opsloop.changes.schemas import ChangeCreate
from opsloop.core.audit.chain import GENESIS, verify
from opsloop.incidents import csv_import
from opsloop.slo import service as slo_service

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "perf"))

import cases
import report
import seed
import seed_audit
import seed_domains


def test_seeded_slos_are_pushed_slos_opsloop_accepts() -> None:
    defs = slo_service.parse_specs(seed.openslo_documents(25), "perf")
    assert len(defs) == 25
    assert {slo_service.source_of(d) for d in defs} == {"push"}
    assert {d.service for d in defs} == {"svc-000", "svc-001", "svc-002"}


def test_seeded_audit_links_continue_the_chain() -> None:
    first = seed_audit.links(1, GENESIS, 10)
    more = seed_audit.links(11, first[-1].hash, 5)
    result = verify([*first, *more])
    assert result.ok
    assert result.checked == 15


def test_timeline_moves_forward_and_says_when_it_wrapped() -> None:
    line = cases.Timeline(first=6000, minutes=10)
    assert line.take() == (6000, 10)
    assert line.advance(4)
    assert line.take() == (6000 + 240, 6)
    assert not line.advance(7)
    with pytest.raises(RuntimeError):
        line.take()


def _case(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "slos_page",
        "mode": "get",
        "requests": 20000,
        "requests_per_s": 2000.0,
        "events_per_s": 2000.0,
        "latency_ms": {"p50": 5.0, "p99": 20.0, "max": 80.0},
        "errors": 0,
        "non_2xx": 0,
        "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
        "ratio_to_bare": 0.2,
        "connections": 64,
        "cores": {},
        "target": {"min_rps": 1500, "max_p99_ms": 50, "min_ratio": 0.15},
    }
    return {**base, **changes}


def test_verdict_names_every_missed_target() -> None:
    assert report.verdict(_case()) == "PASS"
    slow = _case(requests_per_s=900.0, latency_ms={"p50": 30, "p99": 75, "max": 90})
    assert report.verdict(slow) == "FAIL (req/s < 1,500, p99 >= 50 ms)"
    assert report.verdict(_case(errors=3, non_2xx=3)) == "FAIL (errors)"
    assert report.verdict(_case(target=None)) == ""
    assert report.verdict(_case(requests=0)).startswith("FAIL (no answer")


def test_seeded_incidents_are_a_csv_opsloop_imports() -> None:
    now = 1_796_000_000
    rows = csv_import.parse_csv(seed_domains.incidents_csv(200, now, services=100))
    assert len(rows) == 200
    statuses = {r.values["status"].value for r in rows}
    assert statuses == {"closed", "resolved", "investigating"}
    started = [r.values["started_at"].timestamp() for r in rows]
    assert started == sorted(started)
    assert now - 366 * seed_domains.DAY < started[0] and started[-1] < now
    latest = max(
        t.timestamp() for r in rows for k, t in r.values.items() if k.endswith("_at") and t
    )
    assert latest <= now
    assert {s for r in rows for s in r.services} <= {f"svc-{i:03d}" for i in range(100)}


def test_seeded_alerts_and_changes_are_payloads_the_api_accepts() -> None:
    hook = WebhookIn.model_validate(seed_domains.alert_payload(3, 100, 1_796_000_000, 100))
    assert len(hook.alerts) == 100
    assert len({a.fingerprint for a in hook.alerts}) == 100
    assert sum(a.status == "resolved" for a in hook.alerts) == 20
    assert all(a.labels["severity"] in seed_domains.ALERT_SEVERITIES for a in hook.alerts)
    change = seed_domains.change_request(3, 100)
    body = ChangeCreate.model_validate(change)
    assert body.submit and body.service == "svc-039"


def test_only_groups_keep_the_slo_cases_apart_from_the_domains() -> None:
    slo_cases = {c.name for c in cases.SLO_CASES} - {"bare"}
    assert set(cases.GROUPS["reads"]) | set(cases.GROUPS["pushes"]) <= slo_cases
    assert "slos_page" in cases.GROUPS["reads"] and "bulk_100" in cases.GROUPS["pushes"]
    assert set(cases.GROUPS["domains"]) == {c.name for c in cases.DOMAIN_CASES}
    assert cases.needed([cases.BY_NAME[n] for n in cases.GROUPS["reads"]]) == set()
    domains = cases.needed([cases.BY_NAME[n] for n in cases.GROUPS["domains"]])
    assert domains == set(seed_domains.STEPS)
    assert cases.needed([cases.BY_NAME["reliability"]]) == {"incidents"}


def test_case_paths_take_the_seeded_period() -> None:
    found = cases.path_of(cases.BY_NAME["reliability"], {"since": "A", "until": "B"})
    assert found == "/api/v1/reliability?by=month&since=A&until=B"
    assert cases.path_of(cases.BY_NAME["slo_status"], {"since": "A"}).endswith("{id}/status")
    assert cases.BY_NAME["alerts_webhook"].events_per_request == 10
