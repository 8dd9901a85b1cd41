"""``column IN (ids)`` with all the ids in one parameter.

SQLAlchemy's ``in_`` renders one placeholder per id. For the thousand ids of an evaluation
that is a thousand placeholders to render, to split again in the driver and for the database
to parse, in every statement: selecting 1,000 SLOs by id took 9.6-14.3 ms on PostgreSQL, and
3.0-3.9 ms with the ids as one parameter (``benchmarks/perf/README.md``). The statement's text
is also the same for any number of ids, so it is compiled once and cached.

PostgreSQL reads the ids as an integer array (``= ANY``); SQLite as a JSON array
(``json_each``). Both are exact for any number of ids, none included.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, Integer, String, any_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator, TypeEngine


class _Ids(TypeDecorator[list[int]]):
    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(Integer))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: list[int] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value if dialect.name == "postgresql" else json.dumps(value)


class _AmongIds(ColumnElement[bool]):
    type = Boolean()
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], ids: BindParameter[Any]) -> None:
        self.column = column
        self.ids = ids


def ids_parameter(name: str) -> BindParameter[Any]:
    """A parameter for :func:`among` whose ids are given when the statement is executed."""
    return bindparam(name, type_=_Ids())


def among(column: Any, ids: Iterable[int] | BindParameter[Any]) -> ColumnElement[bool]:
    """``column IN (ids)`` for integer ids, with the ids as one parameter: the ids themselves,
    or an :func:`ids_parameter` to execute the statement with."""
    if isinstance(ids, BindParameter):
        return _AmongIds(column, ids)
    listed: Iterable[int] = ids
    return _AmongIds(column, bindparam(None, [int(i) for i in listed], type_=_Ids()))


@compiles(_AmongIds)
def _json_each(element: _AmongIds, compiler: SQLCompiler, **kw: Any) -> str:
    listed = func.json_each(element.ids).table_valued("value")
    return compiler.process(element.column.in_(select(listed.c.value)), **kw)


@compiles(_AmongIds, "postgresql")
def _any_array(element: _AmongIds, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column == any_(cast(element.ids, ARRAY(Integer))), **kw)
