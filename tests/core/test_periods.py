"""Reporting periods as typed: spans back from now, ISO times with a zone, and clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsloop.core.errors import ValidationFailed
from opsloop.core.periods import moment, period, span

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("12h", NOW - timedelta(hours=12)),
        ("90m", NOW - timedelta(minutes=90)),
        ("2w", NOW - timedelta(weeks=2)),
        ("2026-11-01T00:00:00Z", datetime(2026, 11, 1, tzinfo=UTC)),
        (" 2026-11-01T01:00:00+01:00 ", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T00:00:00", datetime(2026, 11, 1, tzinfo=UTC)),  # no zone: UTC
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    ],
)
def test_moment_reads_spans_and_times(text: str, expected: datetime) -> None:
    assert moment(text, now=NOW, field="since") == expected


@pytest.mark.parametrize("text", ["0d", "7y", "-7d", "100000d", "0001-01-01", "soon", ""])
def test_moment_refuses_with_the_field_named(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        moment(text, now=NOW, field="since")
    assert caught.value.field == "since"
    assert caught.value.message.startswith("since:")


def test_period_defaults_and_order() -> None:
    assert period(None, None, now=NOW) == (NOW - timedelta(days=7), NOW)
    assert period("1d", "12h", now=NOW) == (NOW - timedelta(days=1), NOW - timedelta(hours=12))
    with pytest.raises(ValidationFailed, match="since: must be before until"):
        period("1d", "2d", now=NOW)


def test_span() -> None:
    assert span("30d", field="since") == timedelta(days=30)
    assert span(" 2W ", field="since") == timedelta(weeks=2)
    with pytest.raises(ValidationFailed, match="window: expected a span"):
        span("2026-11-01", field="window")
