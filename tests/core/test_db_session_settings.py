"""Settings every PostgreSQL connection of opsloop's pool starts its session with."""

from __future__ import annotations

from sqlalchemy import make_url, text

from opsloop.core.db import Database


def test_postgresql_connections_compile_no_statement_to_machine_code(pg_database_url: str) -> None:
    # The connection asks for JIT at its start, so this fails without opsloop's own setting
    # whatever the server or the database is configured with.
    url = make_url(pg_database_url).update_query_dict({"options": "-c jit=on"})
    db = Database(url.render_as_string(hide_password=False), pool_size=1)
    try:
        for _ in range(2):  # a new connection, then the same one back from the pool
            with db.read() as session:
                assert session.scalar(text("SHOW jit")) == "off"
            with db.write() as session:
                assert session.scalar(text("SHOW jit")) == "off"
    finally:
        db.dispose()
