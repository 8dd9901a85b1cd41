"""The last stored result of each SLO, as the next evaluation reads it: parsed once per process.

An evaluation reads every SLO's stored result (about 2 kB of JSON each) to carry alert and
policy states forward, and then again inside its write transaction. Parsing a thousand of them
twice a minute is wasted when they are the very texts this process wrote a minute earlier, so
the part an evaluation reads is kept beside the text it came from and reused only while the
stored text is exactly that text: whatever another process or evaluation wrote meanwhile is
parsed afresh.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# SLO id -> (stored text, its carried part). Entries are replaced whole, so threads that
# evaluate at once only ever miss, never see half an entry.
_SEEN: dict[int, tuple[str, dict[str, Any]]] = {}

_TOP = ("evaluated_at", "last_data_at", "budget_epoch", "no_data_reason")
_ALERT = ("alert", "state", "active_since", "firing")


def carried(result: Mapping[str, Any]) -> dict[str, Any]:
    """What the next evaluation reads of a result (``compute_status``'s ``previous`` and the
    alert changes): keys absent from the result stay absent."""
    out: dict[str, Any] = {key: result[key] for key in _TOP if key in result}
    policy = result.get("policy")
    if isinstance(policy, Mapping) and "state" in policy:
        out["policy"] = {"state": policy["state"]}
    elif "policy" in result:
        out["policy"] = policy
    if "alerts" in result:
        out["alerts"] = [{k: a[k] for k in _ALERT if k in a} for a in result["alerts"]]
    return out


def parsed(slo_id: int, text: str) -> dict[str, Any]:
    """``carried(json.loads(text))``, reused when ``text`` is what was last seen for the SLO."""
    seen = _SEEN.get(slo_id)
    if seen is not None and seen[0] == text:
        return seen[1]
    value = carried(json.loads(text))
    _SEEN[slo_id] = (text, value)
    return value


def remember(slo_id: int, text: str, result: Mapping[str, Any]) -> None:
    """Note a result about to be stored as ``text`` (``result`` is what ``text`` encodes: the
    carried values are strings, booleans and nulls, which encoding keeps as they are)."""
    _SEEN[slo_id] = (text, carried(result))


def forget() -> None:
    """Drop everything, as in a new process."""
    _SEEN.clear()
