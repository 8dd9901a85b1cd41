"""What a push record says it covered: its SLOs and, for each, the minutes it stored.

A push (one request, :class:`~opsloop.slo.models.EventPush`) is one row however many SLOs it
names. Its ``slos`` column holds the coverage as compact JSON: the SLOs that received the same
minutes share one entry, so a bulk push of 100 SLOs x 1 minute is one entry with 100 ids::

    [{"first": "2026-11-02T09:00:00+00:00", "last": "2026-11-02T09:00:00+00:00",
      "minutes": 1, "slos": [3, 4, 5]}]

A row per SLO, indexed by SLO, put every bulk push on one index page per SLO: on SQLite, where
writers take turns, that was a quarter of the pages a bulk push of 100 SLOs wrote. A record keeps
the SLO's id after the SLO is deleted, as the audit trail keeps its records of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple


class Covered(NamedTuple):
    """The minutes one push stored for one SLO."""

    slo_id: int
    minutes: int
    first_minute: datetime
    last_minute: datetime


def encode(covered: Iterable[Covered]) -> str:
    """The ``slos`` column's JSON, its entries in the order of their first SLO."""
    shared: dict[tuple[int, datetime, datetime], list[int]] = {}
    for slo_id, minutes, first, last in covered:
        shared.setdefault((minutes, first, last), []).append(slo_id)
    entries = [
        {"first": _utc(first), "last": _utc(last), "minutes": minutes, "slos": ids}
        for (minutes, first, last), ids in shared.items()
    ]
    return json.dumps(entries, separators=(",", ":"))


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def decode(stored: str) -> list[Covered]:
    """One :class:`Covered` per SLO, in SLO id order."""
    out = [
        Covered(
            slo_id,
            entry["minutes"],
            datetime.fromisoformat(entry["first"]),
            datetime.fromisoformat(entry["last"]),
        )
        for entry in json.loads(stored)
        for slo_id in entry["slos"]
    ]
    return sorted(out)
