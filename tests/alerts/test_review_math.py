"""The alert review's arithmetic, by hand-computed cases and by properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from opsloop.alerts.review_math import (
    Advice,
    Instance,
    Thresholds,
    flapping_fingerprints,
    nearest_rank,
    per_day,
    summarise,
    totals,
)

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def inst(
    name: str = "Latency",
    fp: str = "a",
    start: int = 0,
    minutes: int | None = 5,
    *,
    feedback: str | None = None,
    linked: bool = False,
    acked: int | None = None,
    respond: int = 15,
    service: str | None = "api",
) -> Instance:
    starts = T0 + start * MIN
    return Instance(
        name=name,
        service=service,
        severity="high",
        fingerprint=fp,
        starts_at=starts,
        ends_at=None if minutes is None else starts + minutes * MIN,
        feedback=feedback,
        linked=linked,
        acked_at=None if acked is None else starts + acked * MIN,
        respond_by=starts + respond * MIN,
    )


def test_nearest_rank_by_hand() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert nearest_rank(values, 0.95) == 19.0  # ceil(0.95 * 20) = 19th value
    assert nearest_rank(values, 0.5) == 10.0
    assert nearest_rank([7.0], 0.95) == 7.0
    assert nearest_rank([1.0, 2.0, 3.0], 0.95) == 3.0  # ceil(2.85) = 3


def test_flapping_needs_more_than_n_starts_inside_the_window() -> None:
    hour = timedelta(hours=1)
    # Four starts in 45 minutes: more than 3 within an hour.
    four = [inst(fp="f", start=m) for m in (0, 15, 30, 45)]
    assert flapping_fingerprints(four, 3, hour) == {"f"}
    # Three starts only: not more than 3.
    assert flapping_fingerprints(four[:3], 3, hour) == set()
    # Four starts spread over 60 minutes exactly: the 4th is not *within* an hour of the 1st.
    spread = [inst(fp="s", start=m) for m in (0, 20, 40, 60)]
    assert flapping_fingerprints(spread, 3, hour) == set()
    # Unsorted input is sorted first.
    assert flapping_fingerprints(list(reversed(four)), 3, hour) == {"f"}


def test_summary_counts_durations_and_signal_to_noise_by_hand() -> None:
    rows = [
        inst(fp="a", start=0, minutes=10, feedback="actionable", acked=3),
        inst(fp="a", start=100, minutes=20, linked=True, acked=20),  # acked late (target 15)
        inst(fp="b", start=200, minutes=30, feedback="false_positive"),
        inst(fp="b", start=300, minutes=None, linked=True, feedback="false_positive"),
        inst(fp="c", start=400, minutes=None),
    ]
    (s,) = summarise(rows, lambda r: r.name)
    assert (s.fired, s.distinct, s.still_firing) == (5, 3, 2)
    assert (s.actionable, s.false_positives, s.unreviewed) == (2, 2, 1)
    assert s.actionable_share == 0.4
    assert s.signal_to_noise == 2 / 3
    assert s.acked_in_time == 1
    assert s.mean_seconds == 20 * 60  # (10 + 20 + 30) / 3 minutes
    assert s.p95_seconds == 30 * 60
    assert s.flapping == 0
    # 4 of 5 have a verdict; 40 % actionable is below 50 %.
    assert s.advice is Advice.tune_or_remove
    assert "40%" in s.reason


def test_advice_in_order_flapping_feedback_tune_automate_keep() -> None:
    limits = Thresholds()
    flapping = [inst(fp="f", start=m, feedback="actionable") for m in (0, 10, 20, 30)]
    assert summarise(flapping, lambda r: r.name, limits)[0].advice is Advice.investigate_flapping
    unreviewed = [inst(fp=str(i), start=i * 90) for i in range(3)]
    assert summarise(unreviewed, lambda r: r.name, limits)[0].advice is Advice.needs_feedback
    always = [inst(fp=str(i), start=i * 90, linked=True) for i in range(3)]
    assert summarise(always, lambda r: r.name, limits)[0].advice is Advice.automate
    twice = always[:2]  # always actionable but not recurring (fewer than 3)
    assert summarise(twice, lambda r: r.name, limits)[0].advice is Advice.keep
    mostly = [*always, inst(fp="x", start=500, feedback="false_positive")]  # 75 %
    assert summarise(mostly, lambda r: r.name, limits)[0].advice is Advice.keep


def test_groups_sorted_by_fired_then_name_and_totals_match() -> None:
    rows = [
        inst("B", "1", 0),
        inst("A", "2", 0),
        inst("C", "3", 0),
        inst("C", "4", 0, feedback="actionable"),
    ]
    assert [s.key for s in summarise(rows, lambda r: r.name)] == ["C", "A", "B"]
    t = totals(rows)
    assert (t.total, t.actionable, t.false_positives, t.unreviewed) == (4, 1, 0, 3)
    assert t.signal_to_noise == 1 / 3


def test_per_day_includes_empty_days() -> None:
    since = datetime(2026, 11, 28, tzinfo=UTC)
    until = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [inst(start=0, linked=True), inst(start=60), inst(start=-3 * 24 * 60 + 1)]
    days = per_day(rows, since, until)
    assert [(d.day.day, d.fired, d.actionable) for d in days] == [
        (28, 0, 0),
        (29, 0, 0),
        (30, 2, 1),
    ]
    # 2026-11-27T10:01 lies before the period: per_day trusts the caller's selection.
    assert sum(d.fired for d in days) == 2


verdicts = st.sampled_from([None, "actionable", "false_positive"])
instances = st.lists(
    st.builds(
        inst,
        name=st.sampled_from(["A", "B", "C"]),
        fp=st.sampled_from(["1", "2", "3", "4"]),
        start=st.integers(0, 600),
        minutes=st.one_of(st.none(), st.integers(0, 120)),
        feedback=verdicts,
        linked=st.booleans(),
    ),
    max_size=40,
)


@given(instances)
def test_groups_add_up_to_the_totals(rows: list[Instance]) -> None:
    groups = summarise(rows, lambda r: r.name)
    t = totals(rows)
    assert sum(g.fired for g in groups) == t.total == len(rows)
    assert sum(g.actionable for g in groups) == t.actionable
    assert sum(g.false_positives for g in groups) == t.false_positives
    for g in groups:
        assert g.actionable + g.false_positives + g.unreviewed == g.fired
        assert 0 <= g.actionable_share <= 1
        if g.p95_seconds is not None and g.mean_seconds is not None:
            assert g.p95_seconds >= 0
        assert g.flapping <= g.distinct
