"""Escalation of overdue action items: levels as the clock moves, who is told, once per item
and level (also with several runs at once on PostgreSQL), dry runs and the minute job."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from opsloop import event_types
from opsloop.actions import escalation
from opsloop.actions import service as actions
from opsloop.actions.models import ActionItemEscalation
from opsloop.app import JOB_FACTORIES
from opsloop.core import clock
from opsloop.core.auth.roles import Role
from opsloop.core.config import Settings
from opsloop.core.db import Database
from opsloop.core.errors import Forbidden
from opsloop.notifications import events
from tests.actions.helpers import RESPONDER, VIEWER, add, incident, make_team, sent, subscribe_all
from tests.helpers import make_user
from tests.services.helpers import actions as audited
from tests.slo.test_concurrency import pg

__all__ = ["pg"]
DUE = date(2026, 11, 2)


def settings_for(db: Database, tmp_path: Path, days: int = 3) -> Settings:
    return Settings(
        database_url=db.url,
        data_dir=tmp_path / "data",
        scheduler_enabled=False,
        action_escalate_after_days=days,
    )


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def stored(db: Database) -> list[tuple[int, int]]:
    with db.read() as session:
        rows = session.execute(
            select(ActionItemEscalation.item_id, ActionItemEscalation.level).order_by(
                ActionItemEscalation.item_id, ActionItemEscalation.level
            )
        )
        return [(item_id, level) for item_id, level in rows]


@pytest.fixture
def key(db: Database, tmp_path: Path, frozen_clock: clock.FrozenClock) -> str:
    make_team(db, "payments", {"lena": "lead", "alice": "member"})
    subscribe_all(db, tmp_path)
    return incident(db).key


def test_levels_go_out_once_each_as_time_passes(
    db: Database, key: str, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    item = add(db, key, owner_user="alice", due_on=DUE)
    settings = settings_for(db, tmp_path)
    # Due 11-02, overdue from 11-03 00:00; with N = 3 days, level 1 from 11-06, level 2 from
    # 11-09, level 3 from 11-12.
    frozen_clock.current = at(11, 5, 23, 59)
    assert escalation.run(db, settings, clock.now()) == []
    frozen_clock.current = at(11, 6)
    first = escalation.run(db, settings, clock.now())
    assert [(e.item_id, e.level, e.days_overdue) for e in first] == [(item.id, 1, 3)]
    assert first[0].notified_to == ("lena",) and first[0].teams == ("payments",)
    assert escalation.run(db, settings, clock.now()) == []  # a second run: nothing new
    frozen_clock.current = at(11, 8, 23)
    assert escalation.run(db, settings, clock.now()) == []
    frozen_clock.current = at(11, 9)
    assert [e.level for e in escalation.run(db, settings, clock.now())] == [2]
    frozen_clock.current = at(11, 12)
    assert [e.level for e in escalation.run(db, settings, clock.now())] == [3]
    frozen_clock.current = at(12, 30)
    assert escalation.run(db, settings, clock.now()) == []  # at most three levels
    assert stored(db) == [(item.id, 1), (item.id, 2), (item.id, 3)]
    told = sent(db)
    assert [(t["level"], t["leads"], t["team"]) for t in told] == [
        (1, ["lena"], "payments"), (2, ["lena"], "payments"), (3, ["lena"], "payments"),
    ]  # fmt: skip
    with db.read() as session:
        shown = actions.get_item(session, item_id=item.id)
    assert shown.escalation_level == 3
    assert shown.escalations[0].summary == "level 1 to lena"
    assert shown.escalations[0].at == at(11, 6)


def test_who_is_told(
    db: Database, key: str, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    make_team(db, "search", {"sam": "member"})  # no lead
    make_team(db, "core", {"lena": "lead", "cora": "member"})
    make_team(db, "solo", {"olga": "lead"})
    make_team(db, "empty", {})
    items = {
        "team with lead": add(db, key, owner_team="payments", due_on=DUE).id,
        "team without lead": add(db, key, owner_team="search", due_on=DUE).id,
        "member without lead": add(db, key, owner_user="sam", due_on=DUE).id,
        "member of two teams": add(db, key, owner_user="lena", due_on=DUE).id,
        "lead herself": add(db, key, owner_user="olga", due_on=DUE).id,
        "cora": add(db, key, owner_user="cora", due_on=DUE).id,
    }
    make_user(db, "nomad", Role.responder)  # in no team at all
    items["in no team"] = add(db, key, owner_user="nomad", due_on=DUE).id
    frozen_clock.current = at(11, 6)
    found = {e.item_id: e for e in escalation.run(db, settings_for(db, tmp_path), clock.now())}
    to = {name: (found[i].notified_to, found[i].teams) for name, i in items.items()}
    assert to == {
        "team with lead": (("lena",), ("payments",)),
        "team without lead": ((), ("search",)),
        "member without lead": ((), ("search",)),
        # lena leads payments and core: each team's other leads, of which there are none.
        "member of two teams": ((), ("payments", "core")),
        "lead herself": ((), ("solo",)),
        "cora": (("lena",), ("core",)),
        "in no team": ((), ()),
    }
    told = sent(db)
    by_item: dict[int, list[tuple[str | None, bool]]] = {}
    for data in told:
        by_item.setdefault(data["action_item"], []).append((data.get("team"), data["no_lead"]))
    assert by_item[items["team without lead"]] == [("search", True)]
    assert by_item[items["member of two teams"]] == [("payments", True), ("core", True)]
    assert by_item[items["in no team"]] == [(None, True)]
    with db.read() as session:
        shown = actions.get_item(session, item_id=items["team without lead"])
    assert shown.escalations[0].summary == "level 1 to the channel of search (no lead)"


def test_closed_items_late_catch_up_and_dry_runs(
    db: Database, key: str, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    done = add(db, key, owner_user="alice", due_on=DUE)
    late = add(db, key, owner_user="alice", due_on=DUE)
    with db.write() as session:
        actions.update_item(session, principal=RESPONDER, item_id=done.id,
                            changes={"status": "done"})  # fmt: skip
    # 11-10 is 7 days past 11-03: level 2 (7 // 3) at once, and only that one.
    frozen_clock.current = at(11, 10)
    with db.write() as session:
        planned = escalation.escalate_by_hand(
            session, principal=RESPONDER, now=clock.now(), after_days=3, dry_run=True
        )
    assert [(e.item_id, e.level) for e in planned] == [(late.id, 2)]
    assert stored(db) == [] and sent(db) == [] and "action_item.escalate" not in audited(db)
    with pytest.raises(Forbidden), db.write() as session:
        escalation.escalate_by_hand(session, principal=VIEWER, now=clock.now(), after_days=3)
    with db.write() as session:
        done_now = escalation.escalate_by_hand(
            session, principal=RESPONDER, now=clock.now(), after_days=3
        )
    assert [(e.item_id, e.level) for e in done_now] == [(late.id, 2)]
    assert stored(db) == [(late.id, 2)] and len(sent(db)) == 1
    assert audited(db, "action_item").count("action_item.escalate") == 1


def test_the_minute_job_is_registered(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, scheduler_enabled=False)
    found = [job for factory in JOB_FACTORIES for job in factory(settings)]
    job = next(j for j in found if j.name == escalation.ESCALATION_JOB)
    assert job.interval == timedelta(minutes=1)


def _items(db: Database, count: int) -> list[int]:
    make_team(db, "payments", {"lena": "lead", "alice": "member"})
    key = incident(db).key
    return [add(db, key, owner_user="alice", due_on=DUE).id for _ in range(count)]


def _threads(count: int, target: object) -> list[BaseException]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_runs_that_all_read_before_any_writes_escalate_once(
    pg: Database, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    """Every run plans the same escalations before any of them inserts: only the unique
    (item_id, level) keeps them from escalating each item once per run."""
    subscribe_all(pg, tmp_path)
    ids = _items(pg, 10)
    frozen_clock.current = at(11, 6)
    barrier = threading.Barrier(4)
    claimed: list[int] = []

    def run() -> None:
        with pg.write(audited=False) as session:
            due = escalation.due_escalations(session, now=clock.now(), after_days=3)
            barrier.wait(timeout=30)
            claimed.extend(e.item_id for e in escalation.claim(session, due, now=clock.now()))

    assert _threads(4, run) == []
    assert sorted(claimed) == ids
    assert stored(pg) == [(i, 1) for i in ids]
    assert sorted(t["action_item"] for t in sent(pg)) == ids


def test_concurrent_job_runs_escalate_each_item_once(
    pg: Database, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    subscribe_all(pg, tmp_path)
    ids = _items(pg, 20)
    frozen_clock.current = at(11, 6)
    settings = settings_for(pg, tmp_path)
    barrier = threading.Barrier(6)
    claimed: list[int] = []

    def run() -> None:
        barrier.wait(timeout=30)
        claimed.extend(e.item_id for e in escalation.run(pg, settings, clock.now()))

    assert _threads(6, run) == []
    assert sorted(claimed) == ids
    with pg.read() as session:
        assert session.scalar(select(func.count()).select_from(ActionItemEscalation)) == 20
    assert len(sent(pg)) == 20


def test_the_event_types_are_known_wherever_subscriptions_are_checked() -> None:
    assert event_types.__all__  # imported by the notify commands, which import no domain
    assert events.is_known("action_item.escalated") and events.is_known("action_item.assigned")
