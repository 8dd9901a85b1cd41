"""The pure rules of reviews: states and moves, the edit rule, required and due, the whys
chain, the windows of the compliance views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsloop.core.errors import Conflict, ValidationFailed
from opsloop.pirs.content import checked_content, checked_meeting, merged, missing_for_publishing
from opsloop.pirs.rules import (
    PirState,
    check_move,
    check_whys,
    due_at,
    edit_state,
    is_overdue,
    is_required,
    next_states,
    parse_severities,
    parse_state,
    parse_window,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_only_forward_moves_one_step_at_a_time() -> None:
    check_move(PirState.draft, PirState.in_review)
    check_move(PirState.in_review, PirState.published)
    for before, after in [
        (PirState.draft, PirState.published),
        (PirState.in_review, PirState.draft),
        (PirState.published, PirState.draft),
        (PirState.published, PirState.in_review),
        (PirState.draft, PirState.draft),
    ]:
        with pytest.raises(Conflict):
            check_move(before, after)
    assert next_states(PirState.draft) == [PirState.in_review]
    assert next_states(PirState.published) == []


def test_editing_a_published_review_opens_a_draft_revision() -> None:
    opened = edit_state(PirState.published)
    assert (opened.state, opened.new_revision) == (PirState.draft, True)
    outcome = edit_state(PirState.in_review)
    assert (outcome.state, outcome.new_revision) == (PirState.in_review, False)


def test_states_parse_in_the_forms_people_type() -> None:
    assert parse_state("in review") == parse_state("in-review") == PirState.in_review
    with pytest.raises(ValidationFailed) as refused:
        parse_state("done")
    assert refused.value.field == "state"


def test_required_and_due() -> None:
    required = parse_severities("sev1, 2")
    assert required == frozenset({"SEV1", "SEV2"})
    assert is_required("SEV2", required) and not is_required("SEV3", required)
    with pytest.raises(ValidationFailed):
        parse_severities("SEV5")
    assert due_at(None, 48) is None
    due = due_at(T0, 48)
    assert due == T0 + timedelta(hours=48)
    after = T0 + timedelta(hours=49)
    assert is_overdue(required=True, due=due, state=None, now=after)
    assert is_overdue(required=True, due=due, state=PirState.in_review, now=after)
    assert not is_overdue(required=True, due=due, state=PirState.published, now=after)
    assert not is_overdue(required=False, due=due, state=None, now=after)
    assert not is_overdue(required=True, due=due, state=None, now=T0 + timedelta(hours=47))


def test_the_whys_chain() -> None:
    chain = check_whys([(1, "Why did it fail?", "the pool ran dry"), (None, "", "traffic doubled")])
    assert [w.position for w in chain] == [1, 2]
    assert chain[1].question == "Why the pool ran dry?"
    assert check_whys([]) == []
    for entries, field in [
        ([(None, "Why?", " ")], "whys[0].answer"),
        ([(None, "", "x")], "whys[0].question"),
        ([(1, "Why?", "a"), (3, "Why?", "b")], "whys[1].position"),
        ([(None, "Why?", "a")] * 11, "whys"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            check_whys(entries)
        assert refused.value.field == field


def test_content_merging_and_publishing_needs() -> None:
    content = checked_content({"summary": "down", "impact": {"users_affected": 5}})
    changed = merged(content, {"impact": {"revenue": "1k"}})
    assert (changed.impact.users_affected, changed.impact.revenue) == (5, "1k")
    assert missing_for_publishing(changed) == ["root_cause", "whys"]
    with pytest.raises(ValidationFailed) as refused:
        merged(content, {"who_caused_it": "x"})
    assert refused.value.field == "who_caused_it"
    with pytest.raises(ValidationFailed) as refused:
        checked_meeting({"scheduled_at": "2026-11-05T10:00:00Z", "validated_action_items": [1, 1]})
    assert refused.value.field == "review_meeting.validated_action_items"
    with pytest.raises(ValidationFailed) as refused:
        checked_meeting({"scheduled_at": "2026-11-05T10:00:00Z", "validated_action_items": [0]})
    assert refused.value.field == "review_meeting.validated_action_items[0]"


def test_windows() -> None:
    assert parse_window("30d") == timedelta(days=30)
    assert parse_window("12h") == timedelta(hours=12)
    assert parse_window("2w") == timedelta(weeks=2)
    for bad in ("0d", "30", "d", "1y", "-3d", "100000d"):
        with pytest.raises(ValidationFailed):
            parse_window(bad)
