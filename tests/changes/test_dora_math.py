"""The pure DORA arithmetic, checked against values worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsloop.changes import dora_math as dm
from opsloop.changes.dora_math import Band, Facts

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_percentiles_interpolate_between_the_nearest_ranks() -> None:
    # 1..10: median at rank 4.5 -> 5.5; p90 at rank 8.1 -> 9 + 0.1 * (10 - 9) = 9.1.
    values = [float(v) for v in range(10, 0, -1)]
    assert dm.median(values) == 5.5
    assert dm.percentile(values, 90) == pytest.approx(9.1)
    # Odd count: the middle value; p90 of 1, 2, 3 at rank 1.8 -> 2.8.
    assert dm.median([3.0, 1.0, 2.0]) == 2.0
    assert dm.percentile([3.0, 1.0, 2.0], 90) == pytest.approx(2.8)
    assert dm.median([7.0]) == 7.0 and dm.percentile([7.0], 90) == 7.0
    assert dm.median([]) is None
    assert dm.ranks(10, 90) == (8, 9, pytest.approx(0.1))
    assert dm.ranks(1, 50) == (0, 0, 0.0)


def test_bands_at_their_edges() -> None:
    assert dm.frequency_band(3) == Band.elite and dm.frequency_band(1) == Band.elite
    assert dm.frequency_band(0.99) == Band.high and dm.frequency_band(1 / 7) == Band.high
    assert dm.frequency_band(0.1) == Band.medium and dm.frequency_band(1 / 30) == Band.medium
    assert dm.frequency_band(0.03) == Band.low and dm.frequency_band(0) == Band.low
    hour, day = 3600.0, 86400.0
    assert dm.lead_time_band(23 * hour) == Band.elite
    assert dm.lead_time_band(day) == Band.high
    assert dm.lead_time_band(7 * day) == Band.medium
    assert dm.lead_time_band(30 * day) == Band.low
    assert dm.restore_band(59 * 60) == Band.elite and dm.restore_band(hour) == Band.high
    assert dm.restore_band(day) == Band.medium and dm.restore_band(7 * day) == Band.low
    assert dm.failure_band(0.05) == Band.elite and dm.failure_band(0.06) == Band.high
    assert dm.failure_band(0.15) == Band.medium and dm.failure_band(0.16) == Band.low
    assert dm.lead_time_band(None) is None and dm.failure_band(None) is None


def _fact(key: str, state: str, finished_h: float, lead_h: float, **more: object) -> Facts:
    finished = T0 + timedelta(hours=finished_h)
    values: dict[str, object] = {
        "key": key,
        "state": state,
        "submitted_at": finished - timedelta(hours=lead_h),
        "committed_at": None,
        "finished_at": finished,
        **more,
    }
    return Facts(**values)  # type: ignore[arg-type]


def test_reference_keys_of_a_week_worked_out_by_hand() -> None:
    facts = [
        _fact("CR-1", "completed", 10, 2),
        _fact("CR-2", "completed", 20, 4),
        _fact("CR-3", "completed", 30, 6, committed_at=T0),  # lead from the commit: 30 h
        _fact("CR-4", "failed", 40, 1),
        _fact("CR-5", "rolled_back", 50, 1),
        _fact("CR-6", "completed", 60, 8, incident_key="INC-2026-001"),
        _fact("CR-7", "completed", 24 * 8, 1),  # after the week
        _fact("CR-8", "in_progress", 70, 1),  # not finished in the sense counted
    ]
    keys = dm.reference_keys(
        facts,
        since=T0,
        until=T0 + timedelta(days=7),
        restore_seconds=[600.0, 1800.0, 3600.0],
        failed_checks=frozenset({"CR-1"}),
    )
    # Completed in the week: CR-1, 2, 3, 6; lead times 2, 4, 30, 8 h -> sorted 2, 4, 8, 30.
    assert keys.deployments == 4 and keys.deploys_per_day == pytest.approx(4 / 7)
    assert keys.lead_time_median == pytest.approx(6 * 3600)  # between 4 and 8 h
    # p90 at rank 2.7: 8 + 0.7 * (30 - 8) = 23.4 h.
    assert keys.lead_time_p90 == pytest.approx(23.4 * 3600)
    # Finished: 6; failures: CR-4, CR-5, CR-6 (incident) and CR-1 (failed check) = 4.
    assert keys.finished == 6 and keys.failures == 4
    assert keys.failure_rate == pytest.approx(4 / 6)
    assert keys.restore_median == 1800.0
