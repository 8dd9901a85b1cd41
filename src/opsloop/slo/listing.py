"""Reading SLOs a page at a time, for the API list and the SLO pages.

Lists are the most frequent reads, so only the rows of one page are queried, as plain rows
(no ORM objects), joined with the text of each SLO's stored evaluation, which callers splice
into their output or parse for the page's rows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from opsloop.core.id_lists import among
from opsloop.slo.models import SLO, Evaluation
from opsloop.slo.sources import Source

AnySelect = Select[*tuple[Any, ...]]
#: Where rows are read from: these are plain Core statements, so either will do.
Reader = Session | Connection
#: A row of ``COLUMNS``, read by attribute (``row.name``, ``row.result``).
SLORow = Row[Any]
# The tables' columns, not the mapped attributes: a statement made of them alone runs as plain
# Core, without the ORM's per-execution compile and loading steps (a third of a status read).
#: The generation counter that moves with every write to the listed tables (migration 0008).
GENERATION = "slos"
SLOS = SLO.__table__
EVALUATIONS = Evaluation.__table__
_S, _E = SLOS.c, EVALUATIONS.c

#: The columns of a listed SLO; ``spec`` only serves the per-spec summary (cached by its text).
COLUMNS = (
    _S.id,
    _S.service,
    _S.name,
    _S.source,
    _S.spec,
    _S.objective,
    _S.policy_state,
    _S.policy_state_since,
    _S.created_at,
    _E.evaluated_at,
    _E.result,
)


@dataclass(frozen=True)
class SLOFilter:
    """What a list may be narrowed to; every field is optional and they combine with AND."""

    service: str | None = None
    policy_state: str | None = None
    source: Source | None = None
    #: a part of the SLO's name or service, e.g. "check" finds checkout/availability
    search: str | None = None

    def apply(self, query: AnySelect) -> AnySelect:
        if self.service:
            query = query.where(_S.service == self.service)
        if self.policy_state:
            query = query.where(_S.policy_state == self.policy_state)
        if self.source:
            query = query.where(_S.source == self.source)
        if self.search:
            # Names and services are lowercase DNS labels: a lowercase search matches them the
            # same way on both databases (LIKE ignores case in SQLite but not in PostgreSQL).
            needle = self.search.lower()
            query = query.where(
                or_(
                    _S.name.contains(needle, autoescape=True),
                    _S.service.contains(needle, autoescape=True),
                )
            )
        return query


def _base(flt: SLOFilter) -> AnySelect:
    query: AnySelect = select(*COLUMNS).select_from(SLOS)
    return flt.apply(query.outerjoin(EVALUATIONS, _E.slo_id == _S.id))


def rows_by_id(
    session: Reader, *, flt: SLOFilter, after_id: int | None, limit: int
) -> Sequence[Row[Any]]:
    """Up to ``limit`` rows after ``after_id`` in id order (ask for one more to know if there is
    a next page)."""
    query = _base(flt)
    if after_id is not None:
        query = query.where(_S.id > after_id)
    return session.execute(query.order_by(_S.id).limit(limit)).all()


def row_by_id(session: Reader, *, slo_id: int) -> Row[Any] | None:
    return session.execute(_base(SLOFilter()).where(_S.id == slo_id)).first()


@dataclass(frozen=True)
class NamePage:
    rows: Sequence[Row[Any]]
    total: int
    offset: int


def rows_by_name(session: Reader, *, flt: SLOFilter, offset: int, limit: int) -> NamePage:
    """A page in service/name order (how people look for an SLO), and how many match."""
    total = session.scalar(flt.apply(select(func.count()).select_from(SLOS))) or 0
    offset = min(offset, max(0, (total - 1) // limit * limit))
    query = _base(flt).order_by(_S.service, _S.name).offset(offset).limit(limit)
    return NamePage(rows=session.execute(query).all(), total=total, offset=offset)


def states(session: Reader) -> list[str]:
    """The policy states SLOs are in now (a filter offers these)."""
    return list(session.scalars(select(_S.policy_state).distinct().order_by(_S.policy_state)))


def services(session: Reader) -> list[str]:
    return list(session.scalars(select(_S.service).distinct().order_by(_S.service)))


def stored_result(session: Reader, *, slo_id: int) -> tuple[datetime, str] | None:
    """The last evaluation's time and JSON text, if nothing changed the SLO since: an update or
    a budget reset after it makes it stale (``None``), as does not having one."""
    row = session.execute(_CURRENT.where(_E.slo_id == slo_id)).first()
    return None if row is None else (row[1], row[2])


def stored_results(session: Reader, slo_ids: Sequence[int]) -> dict[int, str]:
    """:func:`stored_result`'s JSON text for many SLOs in one query; SLOs without a current
    evaluation are left out."""
    rows = session.execute(_CURRENT.where(among(_E.slo_id, slo_ids)))
    return {slo_id: result for slo_id, _, result in rows}


_CURRENT = (
    select(_E.slo_id, _E.evaluated_at, _E.result)
    .join(SLOS, _S.id == _E.slo_id)
    .where(_E.evaluated_at >= _S.updated_at, _E.evaluated_at >= _S.period_started_at)
)
