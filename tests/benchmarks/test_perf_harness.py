"""The side-by-side harness (benchmarks/perf) without servers: what it seeds is valid opsloop
data, and its report judges results against the targets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from opsloop.core.audit.chain import GENESIS, verify
from opsloop.slo import service as slo_service

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "perf"))

import cases
import report
import seed
import seed_audit


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
