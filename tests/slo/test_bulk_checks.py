"""A bulk push checked in one pass (the common case) gets exactly what the item-by-item check
gives it: the same counts per SLO, or the same first problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsloop.core.auth.roles import Principal, Role
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.slo import ingestion
from opsloop.slo.ingestion import BulkPush, _Bounds, _bulk_batches
from opsloop.slo.push_targets import Target
from opsloop.slo.service import pushed_definition
from opsloop.slo.spec import to_openslo

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PUSHER = Principal(actor="pusher", role=Role.responder)
SPEC = to_openslo([pushed_definition(service="svc", name="a", objective=99.9)])
BY_REF: dict[str, Target | OpsloopError | None] = {
    "svc/a": Target(1, "svc", "a", "push", SPEC),
    "svc/b": Target(2, "svc", "b", "push", SPEC),
    "2": Target(2, "svc", "b", "push", SPEC),
    "svc/prom": Target(3, "svc", "prom", "prometheus", SPEC),
    "twice": ValidationFailed("several SLOs are named 'twice'; use service/name", field="events"),
    "svc/gone": None,
}
GOOD_REFS = ["svc/a", "svc/b", "2"]

recent_minutes = st.integers(0, 90).map(lambda m: NOW - timedelta(minutes=m))
odd_times = st.sampled_from(
    [
        NOW + timedelta(minutes=1),
        NOW - timedelta(seconds=30),
        NOW.replace(tzinfo=None) - timedelta(minutes=2),
        NOW - timedelta(days=20),
        NOW - timedelta(days=40),
    ]
)
counts = st.integers(0, 100).flatmap(lambda total: st.tuples(st.integers(0, total), st.just(total)))
bad_counts = st.sampled_from([(5, 4), (-1, 3), (1, -1)])
items = st.tuples(
    st.sampled_from(GOOD_REFS) | st.sampled_from(sorted(BY_REF)),
    st.tuples(recent_minutes | odd_times, counts | bad_counts),
).map(lambda i: (i[0], (i[1][0], *i[1][1])))


def outcome(push: BulkPush) -> Any:
    try:
        return _bulk_batches(push, BY_REF, _Bounds(NOW))
    except OpsloopError as exc:
        return (type(exc), str(exc), exc.field)


@settings(max_examples=300, deadline=None)
@given(chosen=st.lists(items, min_size=1, max_size=12))
def test_one_pass_gives_what_item_by_item_gives(
    chosen: list[tuple[str, tuple[datetime, int, int]]],
) -> None:
    push = BulkPush(chosen, PUSHER, "r")
    fast = outcome(push)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(ingestion, "_plain_bulk", lambda *_: None)
        slow = outcome(push)
    assert fast == slow


def test_a_plain_bulk_push_is_checked_in_one_pass() -> None:
    minute = NOW - timedelta(minutes=5)
    push = BulkPush(
        [("svc/b", (minute, 1, 2)), ("svc/a", (minute, 3, 4)), ("svc/b", (NOW, 0, 0))],
        PUSHER,
        "r",
    )
    found = ingestion._plain_bulk(push, BY_REF, _Bounds(NOW))
    assert found is not None
    assert {slo: [(c.minute, c.good, c.total) for c in got] for slo, got in found.items()} == {
        2: [(minute, 1, 2), (NOW, 0, 0)],
        1: [(minute, 3, 4)],
    }
    # The same minute twice for one SLO (here by id and by name) needs the closer look.
    twice = BulkPush([("svc/b", (minute, 1, 2)), ("2", (minute, 1, 2))], PUSHER, "r")
    assert ingestion._plain_bulk(twice, BY_REF, _Bounds(NOW)) is None
    assert "same minute" in str(outcome(twice)[1])
