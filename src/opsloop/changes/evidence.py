"""An auditor's evidence of a period's changes: the changes, their CAB decisions, their
history and the audit trail's records of them, as CSV and JSON, with a manifest of each file's
SHA-256. The same period exported twice gives the same bytes except the manifest's
``generated_at``: rows are sorted, columns fixed, JSON keys sorted, and nothing else depends on
when or where the export ran.

A period's changes: raised, started or finished in it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from opsloop.changes.models import Change, ChangeApproval, ChangeHistory
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.audit.models import AuditRecord
from opsloop.core.errors import ValidationFailed

MANIFEST = "manifest.json"
CHANGE_COLUMNS = (
    "key", "title", "service", "category", "model", "risk", "state", "requester",
    "implementer", "rollback_plan", "window_start", "window_end", "submitted_at", "approved_at",
    "started_at", "finished_at", "outcome_reason", "incident_key", "gate_override_by",
    "gate_override_reason", "gate_override_at", "version", "commit_sha", "committed_at",
    "pipeline_run", "created_by", "created_at",
)  # fmt: skip
APPROVAL_COLUMNS = ("change", "approver", "decision", "comment", "at")
HISTORY_COLUMNS = ("change", "at", "actor", "field", "before", "after", "note")
AUDIT_COLUMNS = (
    "seq", "at", "actor", "action", "entity_type", "entity_id", "changes", "request_id",
    "prev_hash", "hash",
)  # fmt: skip
#: Keys per IN list when reading the audit records of many changes.
CHUNK = 500


def month_period(text: str) -> tuple[datetime, datetime]:
    """``YYYY-MM``: from the first of the month to the first of the next (UTC)."""
    try:
        first = datetime.strptime(text.strip(), "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise ValidationFailed(
            f"period: a month like 2026-11, not {text!r}", field="period"
        ) from None
    following = (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else (first.replace(month=first.month + 1))
    )
    return first, following


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if hasattr(value, "value"):
        return value.value
    return value


def _records(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> list[dict[str, Any]]:
    return [{c: _cell(row[c]) for c in columns} for row in rows]


def _csv(records: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if record[c] is None else record[c] for c in columns])
    return out.getvalue().encode()


def _json(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def _period_changes(session: Session, since: datetime, until: datetime) -> list[Change]:
    def inside(column: Any) -> Any:
        return and_(column.is_not(None), column >= since, column < until)

    query = select(Change).where(
        or_(inside(Change.created_at), inside(Change.started_at), inside(Change.finished_at))
    )
    return list(session.scalars(query.order_by(Change.year, Change.number)))


def _audit_rows(session: Session, keys: list[str]) -> list[dict[str, Any]]:
    found: list[AuditRecord] = []
    for i in range(0, len(keys), CHUNK):
        part = keys[i : i + CHUNK]
        found.extend(
            session.scalars(
                select(AuditRecord).where(
                    AuditRecord.entity_type == "change", AuditRecord.entity_id.in_(part)
                )
            )
        )
    found.sort(key=lambda r: r.seq)
    return [audit.to_dict(r, parse_changes=False) | {"seq": r.seq} for r in found]


def export(session: Session, *, since: datetime, until: datetime) -> dict[str, bytes]:
    """The period's evidence files by name, the manifest last."""
    if since >= until:
        raise ValidationFailed("since: must be before until", field="since")
    changes = _period_changes(session, since, until)
    keys = {c.id: c.key for c in changes}
    ids = list(keys)
    approvals: list[dict[str, Any]] = []
    past: list[dict[str, Any]] = []
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        for a in session.scalars(select(ChangeApproval).where(ChangeApproval.change_id.in_(part))):
            approvals.append({**_fields(a, APPROVAL_COLUMNS[1:]), "change": keys[a.change_id]})
        for h in session.scalars(select(ChangeHistory).where(ChangeHistory.change_id.in_(part))):
            past.append(
                {**_fields(h, HISTORY_COLUMNS[1:]), "change": keys[h.change_id], "id": h.id}
            )
    order = {c.key: n for n, c in enumerate(changes)}
    approvals.sort(key=lambda a: (order[a["change"]], a["at"], a["approver"]))
    past.sort(key=lambda h: (order[h["change"]], h["at"], h["id"]))
    tables = {
        "changes": (
            _records([_fields(c, CHANGE_COLUMNS) for c in changes], CHANGE_COLUMNS),
            CHANGE_COLUMNS,
        ),
        "approvals": (_records(approvals, APPROVAL_COLUMNS), APPROVAL_COLUMNS),
        "history": (_records(past, HISTORY_COLUMNS), HISTORY_COLUMNS),
        "audit": (
            _records(_audit_rows(session, [c.key for c in changes]), AUDIT_COLUMNS),
            AUDIT_COLUMNS,
        ),
    }
    files: dict[str, bytes] = {}
    rows: dict[str, int] = {}
    for name, (records, columns) in tables.items():
        files[f"{name}.csv"] = _csv(records, columns)
        files[f"{name}.json"] = _json(records)
        rows[f"{name}.csv"] = rows[f"{name}.json"] = len(records)
    manifest = {
        "period": {"since": _cell(since), "until": _cell(until)},
        "generated_at": _cell(clock.now()),
        "files": {
            name: {
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "rows": rows[name],
            }
            for name, data in sorted(files.items())
        },
    }
    files[MANIFEST] = _json(manifest)
    return files


def _fields(row: Any, columns: Sequence[str]) -> dict[str, Any]:
    return {c: getattr(row, c) for c in columns}


def write(files: Mapping[str, bytes], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)


def as_zip(files: Mapping[str, bytes]) -> bytes:
    """The files in a zip whose bytes depend only on them (fixed entry times and order)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return out.getvalue()


def verify(directory: Path) -> list[str]:
    """What does not match the manifest in ``directory``: files missing, altered or not
    listed. Empty when every file is as exported."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
        listed: dict[str, Any] = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{MANIFEST}: cannot be read ({exc})"]
    problems = []
    for name, expected in sorted(listed.items()):
        path = directory / name
        if Path(name).name != name or not path.is_file():
            problems.append(f"{name}: missing")
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected.get("sha256"):
            problems.append(f"{name}: SHA-256 {digest} does not match the manifest")
    for path in sorted(directory.iterdir()):
        if path.name != MANIFEST and path.name not in listed:
            problems.append(f"{path.name}: not in the manifest")
    return problems
