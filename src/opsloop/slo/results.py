"""Writing the evaluations of many SLOs (``slo_evaluations``) in one statement."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from opsloop.core.db import UTCDateTime

# One statement whatever the number of SLOs, the rows passed as parameters: PostgreSQL gets two
# arrays, SQLite one JSON array (as in opsloop.slo.events). It is compiled once, and a trigger
# on the table sees one write per evaluation rather than one per SLO.
_STORE_PG = text(
    """
    INSERT INTO slo_evaluations (slo_id, evaluated_at, result)
    SELECT k.slo_id, CAST(:at AS timestamptz), k.result
    FROM unnest(CAST(:slo_ids AS integer[]), CAST(:results AS text[])) AS k(slo_id, result)
    ON CONFLICT (slo_id) DO UPDATE
    SET evaluated_at = excluded.evaluated_at, result = excluded.result
    """
).bindparams(bindparam("at", type_=UTCDateTime()))
# "WHERE true": SQLite would otherwise read ON CONFLICT as part of the SELECT's join.
_STORE_SQLITE = text(
    """
    INSERT INTO slo_evaluations (slo_id, evaluated_at, result)
    SELECT json_extract(k.value, '$[0]'), :at, json_extract(k.value, '$[1]')
    FROM json_each(:rows) AS k WHERE true
    ON CONFLICT (slo_id) DO UPDATE
    SET evaluated_at = excluded.evaluated_at, result = excluded.result
    """
).bindparams(bindparam("at", type_=UTCDateTime()))


def store_results(session: Session, evaluated_at: datetime, texts: dict[int, str]) -> None:
    """Insert or replace the stored result text of each SLO, evaluated at ``evaluated_at``."""
    if not texts:
        return
    ids = sorted(texts)
    params: dict[str, Any] = {"at": evaluated_at}
    if session.get_bind().dialect.name == "postgresql":
        statement = _STORE_PG
        params |= {"slo_ids": ids, "results": [texts[i] for i in ids]}
    else:
        statement = _STORE_SQLITE
        params["rows"] = json.dumps([[i, texts[i]] for i in ids], ensure_ascii=False)
    session.execute(statement, params)
