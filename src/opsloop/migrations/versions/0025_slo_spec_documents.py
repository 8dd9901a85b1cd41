"""each stored SLO spec's documents kept beside it as JSON (slos.spec_documents)

Read instead of the YAML by the first evaluation after a start (opsloop.slo.spec.
stored_documents, whose format this fills in for the SLOs stored so far). Kept here as it is
today, so that the migration does the same whatever that module becomes; a copy that does not
match its spec is never read.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
import yaml
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_LOADER: Any = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader
_SLOS = sa.table(
    "slos",
    sa.column("id", sa.Integer),
    sa.column("spec", sa.Text),
    sa.column("spec_documents", sa.Text),
)


def _documents_json(spec: str) -> str | None:
    try:
        documents = list(yaml.load_all(spec, Loader=_LOADER))
        text = json.dumps(
            {"sha256": hashlib.sha256(spec.encode()).hexdigest(), "documents": documents},
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
        )
    except (yaml.YAMLError, TypeError, ValueError):
        return None
    return text if json.loads(text)["documents"] == documents else None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: a batch copy of the table would drop its triggers.
    op.add_column("slos", sa.Column("spec_documents", sa.Text, nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(_SLOS.c.id, _SLOS.c.spec)).all()
    filled = [
        {"slo_id": slo_id, "documents": text}
        for slo_id, spec in rows
        if (text := _documents_json(spec)) is not None
    ]
    if filled:
        connection.execute(
            _SLOS.update()
            .where(_SLOS.c.id == sa.bindparam("slo_id"))
            .values(spec_documents=sa.bindparam("documents")),
            filled,
        )


def downgrade() -> None:
    op.drop_column("slos", "spec_documents")
