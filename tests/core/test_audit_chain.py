"""The hash chain as pure functions: every kind of tampering is caught and located."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from opsloop.core.audit.chain import GENESIS, Link, canonical_json, diff, verify


def build_chain(n: int) -> list[Link]:
    links: list[Link] = []
    prev = GENESIS
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for seq in range(1, n + 1):
        link = Link(
            seq=seq,
            at=start + timedelta(minutes=seq),
            actor=f"user{seq % 3}",
            action="thing.update",
            entity_type="thing",
            entity_id=str(seq),
            changes=canonical_json({"n": {"before": seq - 1, "after": seq}}),
            request_id=f"req-{seq}",
            prev_hash=prev,
        )
        link = dataclasses.replace(link, hash=link.compute_hash())
        links.append(link)
        prev = link.hash
    return links


def test_intact_chain_verifies_and_reports_head() -> None:
    links = build_chain(5)
    result = verify(links)
    assert result.ok and result.checked == 5 and result.head_hash == links[-1].hash
    assert result.first_bad_seq is None


def test_empty_chain_is_intact() -> None:
    assert verify([]).ok


def test_edited_record_is_named() -> None:
    links = build_chain(6)
    links[3] = dataclasses.replace(links[3], actor="mallory")
    result = verify(links)
    assert not result.ok and result.first_bad_seq == 4
    assert "hash" in result.reason


def test_edited_record_with_recomputed_hash_breaks_the_next_link() -> None:
    links = build_chain(6)
    forged = dataclasses.replace(links[2], action="thing.delete")
    links[2] = dataclasses.replace(forged, hash=forged.compute_hash())
    result = verify(links)
    assert not result.ok and result.first_bad_seq == 4
    assert "prev_hash" in result.reason


def test_deleted_record_is_named() -> None:
    links = build_chain(6)
    del links[2]
    result = verify(links)
    assert not result.ok and result.first_bad_seq == 3
    assert "missing" in result.reason


def test_inserted_record_is_named() -> None:
    links = build_chain(4)
    intruder = dataclasses.replace(links[1], actor="mallory")
    links.insert(2, intruder)
    assert verify(links).first_bad_seq == 3


def test_reordered_records_are_named() -> None:
    links = build_chain(5)
    links[1], links[2] = links[2], links[1]
    result = verify(links)
    assert not result.ok and result.first_bad_seq == 2


def test_renumbered_records_are_caught() -> None:
    links = build_chain(5)
    links[1], links[2] = (
        dataclasses.replace(links[2], seq=2),
        dataclasses.replace(links[1], seq=3),
    )
    assert verify(links).first_bad_seq == 2


def test_changes_that_are_not_json_are_reported() -> None:
    links = build_chain(3)
    links[1] = dataclasses.replace(links[1], changes="{broken")
    result = verify(links)
    assert result.first_bad_seq == 2 and "JSON" in result.reason


@given(
    index=st.integers(min_value=0, max_value=7),
    field=st.sampled_from(
        ["at", "actor", "action", "entity_type", "entity_id", "request_id", "client_request_id"]
    ),
)
def test_any_single_field_edit_is_caught_at_that_record(index: int, field: str) -> None:
    links = build_chain(8)
    old = getattr(links[index], field)
    new = old + timedelta(microseconds=1) if field == "at" else old + "x"
    links[index] = dataclasses.replace(links[index], **{field: new})
    assert verify(links).first_bad_seq == index + 1


def test_verification_continues_from_a_verified_record() -> None:
    links = build_chain(6)
    result = verify(links[4:], after_seq=4, prev_hash=links[3].hash)
    assert (result.ok, result.checked, result.walked, result.from_seq) == (True, 6, 2, 4)
    assert result.head_hash == links[-1].hash


def test_continuing_from_the_wrong_hash_is_caught() -> None:
    links = build_chain(6)
    result = verify(links[4:], after_seq=4, prev_hash=links[2].hash)
    assert not result.ok and result.first_bad_seq == 5 and result.checked == 4


def test_a_record_written_before_client_request_ids_keeps_its_hash() -> None:
    # The hash this record had before client_request_id existed, computed then.
    link = Link(
        seq=1,
        at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        actor="system",
        action="user.create",
        entity_type="user",
        entity_id="7",
        changes='{"username":{"after":"dana","before":null}}',
        request_id="abc",
        prev_hash=GENESIS,
    )
    assert link.compute_hash() == (
        "daa2622ae3c75d24c2260b5a20509e1062b7080abd8c8453bd5ac571c4a4c8de"
    )
    assert dataclasses.replace(link, client_request_id="x").compute_hash() != link.compute_hash()


def test_setting_or_clearing_the_client_request_id_is_caught() -> None:
    links = build_chain(3)
    links[0] = dataclasses.replace(links[0], client_request_id="forged")
    assert verify(links).first_bad_seq == 1
    links = [dataclasses.replace(link, client_request_id="c") for link in build_chain(1)]
    links = [link.sealed() for link in links]
    assert verify(links).ok
    assert verify([dataclasses.replace(links[0], client_request_id="")]).first_bad_seq == 1


def test_diff_keeps_only_changed_fields_and_serialises_values() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    changes = diff({"a": 1, "b": "x", "gone": True}, {"a": 2, "b": "x", "new": when})
    assert changes == {
        "a": {"before": 1, "after": 2},
        "gone": {"before": True, "after": None},
        "new": {"before": None, "after": "2026-01-02T03:04:05.000000Z"},
    }


def test_canonical_json_is_key_order_independent() -> None:
    assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1})
    assert canonical_json({"é": 1}) == '{"é":1}'
