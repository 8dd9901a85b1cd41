"""Severities, response targets, status moves and keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsloop.core.errors import Conflict, ValidationFailed
from opsloop.incidents.rules import (
    DEFAULT_RESPONSE_TARGETS,
    Severity,
    Status,
    check_move,
    incident_key,
    parse_key,
    parse_severity,
    responded_late,
    response_targets,
)

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_severities_have_the_documented_definitions_and_targets() -> None:
    assert [s.rank for s in Severity] == [1, 2, 3, 4]
    assert Severity.SEV1.definition == "complete outage, all users affected"
    assert {
        Severity.SEV1: timedelta(minutes=15),
        Severity.SEV2: timedelta(hours=1),
        Severity.SEV3: timedelta(hours=4),
        Severity.SEV4: timedelta(hours=24),
    } == DEFAULT_RESPONSE_TARGETS


@pytest.mark.parametrize("text", ["SEV2", "sev2", " 2 "])
def test_a_severity_may_be_written_several_ways(text: str) -> None:
    assert parse_severity(text) is Severity.SEV2


def test_an_unknown_severity_names_the_allowed_ones() -> None:
    with pytest.raises(ValidationFailed, match="use one of SEV1, SEV2, SEV3, SEV4") as caught:
        parse_severity("SEV5")
    assert caught.value.field == "severity"


def test_response_targets_take_overrides_in_minutes() -> None:
    targets = response_targets({"sev1": 5})
    assert targets[Severity.SEV1] == timedelta(minutes=5)
    assert targets[Severity.SEV4] == timedelta(hours=24)
    with pytest.raises(ValidationFailed, match=r"response_targets\.SEV2"):
        response_targets({"SEV2": 0})


def test_forward_moves_may_skip_states() -> None:
    move = check_move(Status.investigating, Status.resolved)
    assert not move.reopened


@pytest.mark.parametrize(
    ("before", "after"),
    [(Status.mitigating, Status.identified), (Status.closed, Status.resolved)],
)
def test_a_backward_move_is_refused(before: Status, after: Status) -> None:
    with pytest.raises(Conflict, match="cannot move an incident back"):
        check_move(before, after)


@pytest.mark.parametrize("before", [Status.resolved, Status.closed])
def test_a_resolved_or_closed_incident_can_be_reopened(before: Status) -> None:
    assert check_move(before, Status.investigating).reopened


def test_staying_put_is_not_a_move() -> None:
    with pytest.raises(Conflict, match="already monitoring"):
        check_move(Status.monitoring, Status.monitoring)


def test_keys_are_numbered_per_year_with_at_least_three_digits() -> None:
    assert incident_key(2026, 7) == "INC-2026-007"
    assert incident_key(2026, 1234) == "INC-2026-1234"
    assert parse_key("inc-2026-007") == (2026, 7)
    with pytest.raises(ValidationFailed, match="not an incident key"):
        parse_key("INC-26-1")


def test_a_response_is_late_after_the_target_or_while_still_unacknowledged() -> None:
    targets = dict(DEFAULT_RESPONSE_TARGETS)
    on_time = T0 + timedelta(minutes=15)
    assert not responded_late(Severity.SEV1, T0, on_time, T0 + timedelta(days=1), targets)
    late = on_time + timedelta(seconds=1)
    assert responded_late(Severity.SEV1, T0, late, late, targets)
    assert not responded_late(Severity.SEV2, T0, None, T0 + timedelta(minutes=59), targets)
    assert responded_late(Severity.SEV2, T0, None, T0 + timedelta(minutes=61), targets)
