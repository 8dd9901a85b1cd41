"""What the SLO list page shows: one page of SLOs, filtered, with their last evaluation.

The page is the UI's busiest; it reads only its rows (:mod:`opsloop.slo.listing`) and keeps what
each row shows of an evaluation, ready to print, until the SLO is evaluated again: parsing 50
stored evaluations and formatting them in the template cost more than the rest of the page.
The rendered list itself (everything but the page around it) is kept per filter, page and
whether the reader may create SLOs, until any SLO or evaluation changes (the "slos"
generation); a kept list costs one primary-key read.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from opsloop.core.errors import ValidationFailed
from opsloop.core.schemas import text_problem
from opsloop.slo import listing
from opsloop.slo.sources import Source
from opsloop.web.routes import templates

PAGE_SIZE = 50
_NO_VALUE = "—"
#: Shown cells per stored evaluation text (hashing it costs a small part of parsing it, and any
#: new evaluation is a new key); dropped wholesale when full, which bounds memory (a few MB)
#: without bookkeeping.
_CACHE_LIMIT = 4096
_cells_cache: dict[str, StatusCells] = {}


@dataclass(frozen=True, slots=True)
class StatusCells:
    """An evaluation as the list shows it; ``current`` is None when there is no data."""

    current: str | None
    budget_left: str
    burn_1h: str
    burn_6h: str
    no_data_title: str
    alert_severity: str | None


NOT_EVALUATED = StatusCells(None, _NO_VALUE, _NO_VALUE, _NO_VALUE, "not evaluated yet", None)


@dataclass(frozen=True, slots=True)
class ListedSLO:
    id: int
    service: str
    name: str
    source: str
    objective: float
    policy_state: str
    status: StatusCells


def _burn(value: float | None) -> str:
    return _NO_VALUE if value is None else f"{value:.2f}x"


def _cells(stored: str) -> StatusCells:
    status: dict[str, Any] = json.loads(stored)
    sli, budget, burns = status.get("sli"), status.get("budget"), status.get("burn_rates", {})
    return StatusCells(
        current=None if sli is None else f"{sli * 100:.3f}%",
        budget_left=_NO_VALUE if budget is None else f"{budget['remaining'] * 100:.1f}%",
        burn_1h=_burn(burns.get("1h")),
        burn_6h=_burn(burns.get("6h")),
        no_data_title=status.get("no_data_reason") or "no data",
        alert_severity=status.get("alert_severity"),
    )


def status_cells(row: listing.SLORow) -> StatusCells:
    if row.result is None:
        return NOT_EVALUATED
    stored: str = row.result
    cells = _cells_cache.get(stored)
    if cells is None:
        if len(_cells_cache) >= _CACHE_LIMIT:
            _cells_cache.clear()
        cells = _cells_cache[stored] = _cells(stored)
    return cells


def _listed(row: listing.SLORow) -> ListedSLO:
    return ListedSLO(
        id=row.id,
        service=row.service,
        name=row.name,
        source=row.source.value,
        objective=row.objective,
        policy_state=row.policy_state,
        status=status_cells(row),
    )


def checked_filter(params: dict[str, str]) -> listing.SLOFilter:
    """The filter the form's parameters ask for (``ValidationFailed`` names the bad one)."""
    for name, value in params.items():
        problem = text_problem(value)
        if problem:
            raise ValidationFailed(f"{name}: {problem}", field=name)
    source = params.get("source", "")
    if source and source not in Source.__members__:
        raise ValidationFailed("source must be push or prometheus", field="source")
    return listing.SLOFilter(
        service=params.get("service") or None,
        policy_state=params.get("state") or None,
        source=Source(source) if source else None,
        search=params.get("q", "").strip()[:127] or None,
    )


def _page_link(params: dict[str, str], page: int) -> str:
    kept = {k: v for k, v in params.items() if v}
    return "/slos?" + urlencode({**kept, "page": page}) if page > 1 or kept else "/slos"


def list_key(params: dict[str, str], page: int, *, may_create: bool) -> Hashable:
    """What a kept list is found by: the same parameters give the same content."""
    return ("web/slos", tuple(sorted(params.items())), page, may_create)


def list_body(
    conn: listing.Reader,
    flt: listing.SLOFilter,
    params: dict[str, str],
    page: int,
    *,
    may_create: bool,
) -> bytes:
    return _render(list_context(conn, flt, params, page), may_create=may_create).encode()


def refused_body(
    conn: listing.Reader, params: dict[str, str], error: dict[str, Any], *, may_create: bool
) -> str:
    """The first page, unfiltered, with the filter's error beside the form (not kept)."""
    context = list_context(conn, listing.SLOFilter(), {}, 1) | error | {"params": params}
    return _render(context, may_create=may_create)


def _render(context: dict[str, Any], *, may_create: bool) -> str:
    """Escaped as every page is (the environment autoescapes .html templates)."""
    return templates.get_template("slo_list_body.html").render(context, may_create=may_create)


def list_context(
    conn: listing.Reader, flt: listing.SLOFilter, params: dict[str, str], page: int
) -> dict[str, Any]:
    """One page of the list: only its rows are read."""
    found = listing.rows_by_name(
        conn, flt=flt, offset=(max(page, 1) - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    services = listing.services(conn)
    states = listing.states(conn)
    number = found.offset // PAGE_SIZE + 1
    last = max(1, -(-found.total // PAGE_SIZE))
    return {
        "items": [_listed(row) for row in found.rows],
        "total": found.total,
        "page": number,
        "pages": last,
        "first_shown": found.offset + 1 if found.rows else 0,
        "last_shown": found.offset + len(found.rows),
        "previous_link": _page_link(params, number - 1) if number > 1 else None,
        "next_link": _page_link(params, number + 1) if number < last else None,
        "params": params,
        "service": params.get("service") or None,
        "services": services,
        "states": states,
        "filtered": any(params.values()),
    }
