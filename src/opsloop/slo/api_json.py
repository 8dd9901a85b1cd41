"""SLOs as the API's JSON, written straight from rows (see :mod:`opsloop.slo.listing`).

A list page is the API's most frequent large answer. Building it by parsing every stored
evaluation, validating an ``SLOOut`` per row and serialising the lot again cost more than half
of each request; here the stored evaluation text is spliced in as it is, and the fields that come
from the spec are rendered once per distinct spec text. The content is exactly what ``SLOOut``
gives (``tests/slo/test_slo_listing.py`` compares them item by item); ``SLOOut`` stays the
documented schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Sequence
from datetime import datetime
from functools import lru_cache
from json.encoder import encode_basestring as _text
from typing import Any

from sqlalchemy import Row
from sqlalchemy.engine import Connection

from opsloop.core.row_json import page_bytes
from opsloop.core.schemas import encode_cursor, tidy_number, utc_text
from opsloop.slo import listing
from opsloop.slo import service as slo_service
from opsloop.slo.evaluation import is_stored_tidy, result_text

_SPEC_FIELDS = ("sli_kind", "window", "description", "owner", "labels")
# The stored result's "period" object comes before any other "period" key with an object value.
_PERIOD_START = re.compile(r'"period":\s*\{"start":\s*"([^"]+)"')


@lru_cache(maxsize=4096)
def _spec_fields(spec: str) -> str:
    summary = slo_service.summary(slo_service.parse_stored(spec))
    fields = json.dumps(
        {k: summary[k] for k in _SPEC_FIELDS}, ensure_ascii=False, separators=(",", ":")
    )
    return fields[1:-1]


def status_text(stored: str) -> str:
    """A stored evaluation as the API shows it (tidy numbers): as stored when it was written
    tidy, which every evaluation since the format has been."""
    if is_stored_tidy(stored):
        return stored
    return result_text(json.loads(stored))


def _period_start(stored: str) -> str:
    found = _PERIOD_START.search(stored)
    start = found.group(1) if found else json.loads(stored)["period"]["start"]
    return utc_text(datetime.fromisoformat(start))


#: A row's JSON is a function of the row alone, and rows change at most once a minute (each
#: evaluation): between evaluations every list of the same SLOs reuses it. Bounded to keep a
#: worker's memory in check (~6 KB a row).
@lru_cache(maxsize=2048)
def slo_json(row: Row[Any]) -> str:
    """One ``SLOOut`` as JSON text, from a row of ``listing.COLUMNS``."""
    stored: str | None = row.result
    if stored is None:
        status, period_started = "null", utc_text(row.created_at)
    else:
        status, period_started = status_text(stored), _period_start(stored)
    return (
        f'{{"id":{row.id},"service":{_text(row.service)},"name":{_text(row.name)},'
        f'"source":"{row.source.value}","objective":{json.dumps(tidy_number(row.objective))},'
        f"{_spec_fields(row.spec)},"
        f'"policy_state":{_text(row.policy_state)},'
        f'"policy_state_since":"{utc_text(row.policy_state_since)}",'
        f'"period_started_at":"{period_started}","status":{status}}}'
    )


def page_json(rows: Sequence[Row[Any]], limit: int) -> bytes:
    """A ``Page[SLOOut]`` of the first ``limit`` rows; a further row means a next page."""
    shown = rows[:limit]
    cursor = encode_cursor(shown[-1].id) if len(rows) > limit and shown else None
    return page_bytes((slo_json(r) for r in shown), cursor)


def stored_status(conn: Connection, slo_id: int) -> bytes | None:
    """The status answer of an SLO's current stored evaluation, if it has one."""
    stored = listing.stored_result(conn, slo_id=slo_id)
    return None if stored is None else status_text(stored[1]).encode()


def stored_statuses(conn: Connection, keys: list[Hashable]) -> dict[Hashable, bytes | None]:
    """Every status key asked for in one read (the kept statuses after an evaluation)."""
    ids = {key: key[1] for key in keys if isinstance(key, tuple) and len(key) == 2}
    found = listing.stored_results(conn, [i for i in ids.values() if isinstance(i, int)])
    return {
        key: status_text(found[slo_id]).encode() if slo_id in found else None
        for key, slo_id in ids.items()
    }
