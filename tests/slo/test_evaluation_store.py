"""How an evaluation reads and writes stored results: one statement for all SLOs (on SQLite one
prepared statement run for each row), a result parsed once, and a result changed by another
evaluation since it was read taken as it is now."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.core.schemas import tidy
from opsloop.slo import budget_policies, evaluation, event_sums, ingestion, previous
from opsloop.slo import service as slo_service
from opsloop.slo.models import SLO, AlertEvent, Evaluation, EventBucket
from opsloop.slo.policy import DEFAULT_POLICY
from opsloop.slo.results import store_results
from opsloop.slo.status import compute_status
from opsloop.slo.windows import ALERT_WINDOWS
from tests.helpers import statements_run

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _slo(db: Database, name: str, good: int, service: str = "checkout") -> int:
    defn = slo_service.pushed_definition(service=service, name=name, objective=99.0, window="7d")
    with db.write() as session:
        slo_id = slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id
        slo = slo_service.get_slo(session, ref=slo_id)
        raw = [(NOW - timedelta(minutes=60 - i), good, 1000) for i in range(60)]
        ingestion.push_events(session, principal=SYSTEM, slo=slo, raw=raw)
    return slo_id


def test_results_are_inserted_and_replaced_in_one_statement_each(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.current = NOW
    ids = [_slo(db, f"slo-{i}", 1000) for i in range(3)]
    # Quotes, backslashes, line breaks and non-ASCII text come back exactly as given.
    texts = {i: f'{{"n":{i},"s":"a\\"b\\\\c\\nd é ✓"}}' for i in ids}
    with statements_run(db) as seen, db.write() as session:
        store_results(session, NOW, texts)
    assert sum("slo_evaluations" in s for s in seen) == 1
    later = NOW + timedelta(minutes=1)
    with statements_run(db) as seen, db.write() as session:
        store_results(session, later, {ids[0]: "{}", ids[2]: '{"x":[1,2]}'})
    assert sum("slo_evaluations" in s for s in seen) == 1
    with db.read() as session:
        query = select(Evaluation.slo_id, Evaluation.evaluated_at, Evaluation.result)
        rows = {slo_id: (at, text) for slo_id, at, text in session.execute(query)}
    assert rows == {
        ids[0]: (later, "{}"),
        ids[1]: (NOW, texts[ids[1]]),
        ids[2]: (later, '{"x":[1,2]}'),
    }


def test_an_evaluation_writes_its_results_in_one_statement(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.current = NOW
    for i in range(5):
        _slo(db, f"slo-{i}", 1000)
    evaluation.evaluate(db, now=NOW)
    with statements_run(db) as seen:
        evaluation.evaluate(db, now=NOW + timedelta(minutes=1))
    writes = [s for s in seen if "INSERT INTO slo_evaluations" in s]
    assert len(writes) == 1


def test_a_result_changed_since_it_was_read_is_compared_as_stored_now(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    """Two evaluations overlap: the first computed its statuses from the result stored before
    the second stored a newer one. Alert changes are decided against what is stored when the
    first writes, so a firing alert is recorded once, not twice."""
    frozen_clock.current = NOW
    burning = _slo(db, "burning", 700)  # 30x the budget: the page alerts fire after 2 minutes
    evaluation.evaluate(db, now=NOW)  # pending
    later = NOW + timedelta(minutes=2)
    statuses = evaluation.evaluate(db, now=later, persist=False)  # firing, not stored yet
    evaluation.evaluate(db, now=later)  # firing, stored with its alert events
    with db.read() as session:
        fired = session.scalars(select(AlertEvent).where(AlertEvent.firing)).all()
        spec, started = session.execute(
            select(SLO.spec, SLO.period_started_at).where(SLO.id == burning)
        ).one()
    assert fired
    status = statuses[burning]
    defn = slo_service.parse_stored(spec)
    target = evaluation.Target(burning, "checkout", "burning", "push", defn, status.period, started)
    with db.write() as session:
        evaluation.record(session, now=later, targets={burning: target}, statuses=statuses)
    with db.read() as session:
        after = session.scalars(select(AlertEvent).where(AlertEvent.firing)).all()
    assert len(after) == len(fired)


def test_a_stored_result_is_reused_only_while_its_text_is_unchanged() -> None:
    previous.forget()
    first = {"evaluated_at": "a", "alerts": [{"alert": "page-1h", "firing": False, "x": 1.5}]}
    second = {**first, "alerts": [{"alert": "page-1h", "firing": True}]}
    text = json.dumps(first)
    # Only what the next evaluation reads is kept ("x" is not).
    kept = {"evaluated_at": "a", "alerts": [{"alert": "page-1h", "firing": False}]}
    assert previous.parsed(7, text) == kept
    assert previous.parsed(7, text) is previous.parsed(7, text)
    # Another evaluation stored something else for the same SLO: read afresh.
    assert previous.parsed(7, json.dumps(second))["alerts"][0]["firing"] is True
    previous.remember(7, "written", first)
    assert previous.parsed(7, "written")["alerts"][0]["firing"] is False
    assert previous.parsed(7, json.dumps(second))["alerts"][0]["firing"] is True
    previous.forget()


def test_what_an_evaluation_carries_forward_is_what_it_reads(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    """The part of a stored result kept between evaluations holds every value the next
    evaluation reads: statuses computed from it equal those computed from the whole result."""
    frozen_clock.current = NOW
    burning = _slo(db, "burning", 700)
    _slo(db, "healthy", 1000)
    for minute in range(3):
        evaluation.evaluate(db, now=NOW + timedelta(minutes=minute))
    later = NOW + timedelta(minutes=3)
    with db.read() as session:
        query = select(Evaluation.slo_id, Evaluation.result)
        stored = {slo_id: text for slo_id, text in session.execute(query)}
    previous.forget()
    carried = evaluation.evaluate(db, now=later, persist=False)
    whole = {}
    for slo_id, text in stored.items():
        result = json.loads(text)
        status = carried[slo_id]
        whole[slo_id] = compute_status(
            slo_service.parse_stored(_spec(db, slo_id)),
            now=later,
            period=status.period,
            error_ratios=status.error_ratios,
            period_error_ratio=status.period_error_ratio,
            policy=DEFAULT_POLICY,
            counts=status.counts,
            previous=result,
            budget_epoch=status.budget_epoch,
        )
    assert {i: s.to_json() for i, s in carried.items()} == {
        i: s.to_json() for i, s in whole.items()
    }
    assert any(a.state == "firing" for a in carried[burning].alerts)


def _spec(db: Database, slo_id: int) -> str:
    with db.read() as session:
        return str(session.scalar(select(SLO.spec).where(SLO.id == slo_id)))


def test_policies_of_many_services_read_at_once(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.current = NOW
    tiers = [
        {"threshold": 1.0, "state": "calm", "action": "ship"},
        {"threshold": 0.2, "state": "frozen", "action": "stop", "blocks_changes": True},
    ]
    _slo(db, "one", 1000, service="api")
    with db.write() as session:
        budget_policies.set_policy(
            session, principal=SYSTEM, service="api", config={"tiers": tiers}
        )
    with db.read() as session:
        found = budget_policies.policies_for(session, services=["api", "web", "api"])
        each = {s: budget_policies.policy_for(session, service=s) for s in ("api", "web")}
    assert found == each
    assert found["web"] == DEFAULT_POLICY and found["api"] != DEFAULT_POLICY


def test_a_late_minute_between_two_evaluations_counts_in_the_next(
    db: Database, frozen_clock: clock.FrozenClock
) -> None:
    """Nothing of an earlier evaluation's sums is reused: a minute pushed late (two days back,
    into a settled hour and day) and a minute resent with other counts both show in the next
    evaluation's windows, equal to the sums of the stored minutes."""
    frozen_clock.current = NOW
    slo_id = _slo(db, "late", 990)
    evaluation.evaluate(db, now=NOW)
    late = NOW - timedelta(days=2, minutes=17)
    resent = NOW - timedelta(minutes=30)
    with db.write() as session:
        slo = slo_service.get_slo(session, ref=slo_id)
        raw = [(late, 500, 1000), (resent, 100, 1000)]
        ingestion.push_events(session, principal=SYSTEM, slo=slo, raw=raw)
    later = NOW + timedelta(minutes=1)
    status = evaluation.evaluate(db, now=later)[slo_id]
    with db.read() as session:
        minutes = list(
            session.execute(select(EventBucket.minute, EventBucket.good, EventBucket.total))
        )
    for window in ALERT_WINDOWS:
        inside = [(g, t) for m, g, t in minutes if later - window <= m < later]
        good, total = sum(g for g, _ in inside), sum(t for _, t in inside)
        assert status.error_ratios[window] == (total - good) / total, window
    period = [(g, t) for m, g, t in minutes if status.period.start <= m < later]
    assert status.counts == (sum(g for g, _ in period), sum(t for _, t in period))
    assert status.counts == (60 * 990 - 990 + 100 + 500, 61 * 1000)


def test_many_slos_are_summed_in_two_halves_at_once_to_the_same_statuses(
    db: Database, frozen_clock: clock.FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_clock.current = NOW
    ids = [_slo(db, f"slo-{i}", 1000 - 100 * i) for i in range(5)]
    whole = evaluation.evaluate(db, now=NOW, persist=False)
    calls: list[tuple[list[int], str]] = []
    real = event_sums.window_sums

    def seen(session: Session, slo_ids: list[int], *args: Any) -> Any:
        calls.append((sorted(slo_ids), threading.current_thread().name))
        return real(session, slo_ids, *args)

    monkeypatch.setattr(event_sums, "window_sums", seen)
    monkeypatch.setattr(evaluation, "SPLIT_SUMS_FROM", 2)
    halves = evaluation.evaluate(db, now=NOW, persist=False)
    assert sorted(slo_ids for slo_ids, _ in calls) == [ids[:2], ids[2:]]
    assert len({thread for _, thread in calls}) == 2
    assert {i: s.to_json() for i, s in halves.items()} == {i: s.to_json() for i, s in whole.items()}


@pytest.mark.parametrize(
    "result",
    [
        {"evaluated_at": "2026-11-02T09:00:00+00:00", "sli": 0.1 + 0.2, "tiny": 1e-05, "n": None},
        {"evaluated_at": "x", "name": "café \u2028 ✓", "burn": float("inf"), "list": [1.0, 2]},
        {"evaluated_at": "x", "good": 2**70, "total": 2**70 + 1},  # beyond 64 bits
    ],
)
def test_a_result_is_stored_as_compact_tidy_json(result: dict[str, Any]) -> None:
    text = evaluation.result_text(result)
    assert json.loads(text) == tidy(result)
    assert ", " not in text and ": " not in text and evaluation.is_stored_tidy(text)
