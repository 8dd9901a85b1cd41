"""``among``: ``column IN (ids)`` with the ids as one parameter, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from opsloop.core.db import Database
from opsloop.core.id_lists import among

_META = MetaData()
_ROWS = Table("id_list_rows", _META, Column("id", Integer, primary_key=True))


@pytest.fixture
def rows(db: Database) -> Iterator[Database]:
    _META.create_all(db.engine)
    with db.write() as session:
        session.execute(insert(_ROWS), [{"id": i} for i in range(1, 51)])
    yield db
    _META.drop_all(db.engine)


def _found(db: Database, ids: list[int]) -> list[int]:
    with db.read() as session:
        query = select(_ROWS.c.id).where(among(_ROWS.c.id, ids)).order_by(_ROWS.c.id)
        return list(session.scalars(query))


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([], []),
        ([7], [7]),
        ([3, 1, 2], [1, 2, 3]),
        ([5, 5, 5], [5]),
        ([0, 49, 50, 51, -4], [49, 50]),
    ],
)
def test_the_rows_whose_ids_are_listed(rows: Database, ids: list[int], expected: list[int]) -> None:
    assert _found(rows, ids) == expected


def test_more_ids_than_either_database_takes_placeholders(rows: Database) -> None:
    # SQLite takes at most 32,766 placeholders, PostgreSQL 65,535: one parameter has no limit.
    assert _found(rows, list(range(100_000))) == list(range(1, 51))


def test_ids_given_as_any_iterable(rows: Database) -> None:
    assert _found(rows, iter({2: "a", 4: "b"})) == [2, 4]


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()])
def test_the_statement_is_the_same_for_any_number_of_ids(dialect: object) -> None:
    def text(ids: list[int]) -> str:
        return str(select(_ROWS.c.id).where(among(_ROWS.c.id, ids)).compile(dialect=dialect))

    assert text([1]) == text(list(range(1000))) == text([])
    assert text([1]).count("json_each" if dialect.name == "sqlite" else "ANY") == 1


def test_a_cached_statement_reads_the_ids_of_each_call(rows: Database) -> None:
    assert [_found(rows, [i, i + 1]) for i in (1, 10, 48, 50)] == [
        [1, 2],
        [10, 11],
        [48, 49],
        [50],
    ]
