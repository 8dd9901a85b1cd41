"""A stored spec's YAML documents kept beside it as JSON (``slos.spec_documents``).

The first evaluation after every start reads every stored spec. For 1,000 SLOs the YAML took
about 180 ms of CPU even with libyaml; the same documents as JSON take under 10 ms. The copy
names the SHA-256 of the spec text it was read from, so a copy that is not that of the spec
beside it (a spec written without one, by hand or by an older version) is never used: the YAML
is read instead.

Migration 0025 wrote this format for the SLOs stored before it; the two must stay the same.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from opsloop.slo.spec.yaml_io import load_own_documents


def digest(spec: str) -> str:
    return hashlib.sha256(spec.encode()).hexdigest()


def documents_json(spec: str) -> str | None:
    """The copy to store beside ``spec``; ``None`` when its documents would not come back from
    JSON exactly as the YAML gives them (keys that are not strings, dates, infinities)."""
    documents = load_own_documents(spec, "stored SLO")
    try:
        text = json.dumps(
            {"sha256": digest(spec), "documents": documents},
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
        )
    except (TypeError, ValueError):
        return None
    return text if json.loads(text)["documents"] == documents else None


def load(spec: str, stored: str | None) -> list[Any] | None:
    """The documents of ``spec`` from its stored copy; ``None`` when there is no copy or it is
    not the copy of this very text."""
    if not stored:
        return None
    try:
        value = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("sha256") != digest(spec):
        return None
    documents = value.get("documents")
    return documents if isinstance(documents, list) else None
