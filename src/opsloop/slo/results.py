"""Writing the evaluations of many SLOs (``slo_evaluations``) at once."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from opsloop.core.db import UTCDateTime

# PostgreSQL: one statement whatever the number of SLOs, so the table's statement trigger runs
# once per evaluation, not once per SLO. The ids go as an integer array and the results as one
# JSON array of strings: as a text[] psycopg would escape each quote of every result on the
# way in, a tenth of a second for a thousand results.
_STORE_PG = text(
    """
    INSERT INTO slo_evaluations (slo_id, evaluated_at, result)
    SELECT k.slo_id, CAST(:at AS timestamptz), k.result
    FROM ROWS FROM (
        unnest(CAST(:slo_ids AS integer[])),
        json_array_elements_text(CAST(:results AS json))
    ) AS k(slo_id, result)
    ON CONFLICT (slo_id) DO UPDATE
    SET evaluated_at = excluded.evaluated_at, result = excluded.result
    """
).bindparams(bindparam("at", type_=UTCDateTime()))
# SQLite runs the statement in this process: one prepared statement executed for each row costs
# less than decoding the rows from one parameter, and its triggers are per row either way.
_STORE_SQLITE = text(
    """
    INSERT INTO slo_evaluations (slo_id, evaluated_at, result) VALUES (:slo_id, :at, :result)
    ON CONFLICT (slo_id) DO UPDATE
    SET evaluated_at = excluded.evaluated_at, result = excluded.result
    """
).bindparams(bindparam("at", type_=UTCDateTime()))


def store_results(session: Session, evaluated_at: datetime, texts: dict[int, str]) -> None:
    """Insert or replace the stored result text of each SLO, evaluated at ``evaluated_at``."""
    if not texts:
        return
    ids = sorted(texts)  # ascending: the rows' locks in the lock order of opsloop.core.db
    if session.get_bind().dialect.name == "postgresql":
        results = json.dumps([texts[i] for i in ids], ensure_ascii=False)
        session.execute(_STORE_PG, {"at": evaluated_at, "slo_ids": ids, "results": results})
    else:
        rows = [{"slo_id": i, "at": evaluated_at, "result": texts[i]} for i in ids]
        session.execute(_STORE_SQLITE, rows)
