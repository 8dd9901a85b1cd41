"""Importing historical incidents from CSV, all or nothing.

Every row is checked before anything is written; the first bad row fails the whole import
with a message naming its row (the header is row 1) and column. The rows are then written
with a few bulk statements, and the import leaves one audit record, not one per incident.

Keys: a row's key (``INC-2024-017``) is kept and the year's counter raised to at least its
number; a row without one takes the next numbers of its start year (UTC) from the counter.
Importing the same file again writes nothing new: a row whose key exists is skipped, and a
row without a key is skipped when an incident imported before has the same title, start time
and services (remembered in ``origin`` as ``import:<digest>``).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, insert, select
from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.db import upsert_for
from opsloop.core.errors import ValidationFailed
from opsloop.incidents import fields
from opsloop.incidents.models import Incident, IncidentCounter, IncidentService, TimelineEvent
from opsloop.incidents.rules import KEY_PATTERN, Status, incident_key, parse_severity
from opsloop.incidents.vocabulary import DetectionMethod, EventKind, parse_choice
from opsloop.services import service as catalog

IMPORT_ROLE = Role.approver
ORIGIN_PREFIX = "import:"
MAX_ROWS = 100_000
TIMES = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at", "closed_at")
COLUMNS = (
    "key",
    "title",
    "severity",
    "status",
    "services",
    *TIMES,
    "detection_method",
    "summary",
    "commander",
)
REQUIRED = ("title", "severity", "started_at")


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: int
    skipped: int
    keys: list[str]  # of the incidents created (or that would be, in a dry run: keyed rows only)
    dry_run: bool


@dataclass
class _Row:
    number: int  # the row in the file; the header is row 1
    key: tuple[int, int] | None
    origin: str | None
    values: dict[str, Any]
    services: tuple[str, ...]


class _Refused(Exception):
    def __init__(self, column: str, message: str) -> None:
        self.column, self.message = column, message


def _time(text: str, column: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _Refused(column, f"not an ISO 8601 time {text!r}") from None
    try:
        return fields.moment(value, column).astimezone(UTC)
    except ValidationFailed as exc:
        raise _Refused(column, exc.message.removeprefix(f"{column}: ")) from None


def _checked(call: Any, column: str, *args: Any) -> Any:
    try:
        return call(*args)
    except ValidationFailed as exc:
        name = exc.field or column
        raise _Refused(name, exc.message.removeprefix(f"{name}: ")) from None


def _status(given: str, times: dict[str, datetime | None]) -> Status:
    status: Status
    if given:
        status = _checked(parse_choice, "status", Status, given, "status")
    elif times["closed_at"]:
        status = Status.closed
    else:
        status = Status.resolved if times["resolved_at"] else Status.investigating
    if status.is_open and times["resolved_at"]:
        raise _Refused("resolved_at", f"an incident still {status.value} has no resolved_at")
    if not status.is_open and not times["resolved_at"]:
        raise _Refused("resolved_at", f"required for a {status.value} incident")
    if status == Status.closed and not times["closed_at"]:
        raise _Refused("closed_at", "required for a closed incident")
    if status != Status.closed and times["closed_at"]:
        raise _Refused("closed_at", f"an incident still {status.value} has no closed_at")
    return status


def _parse(record: dict[str, str], number: int) -> _Row:
    text = {k: (record.get(k) or "").strip() for k in COLUMNS}
    times = {name: _time(text[name], name) for name in TIMES}
    started = times["started_at"]
    if started is None:
        raise _Refused("started_at", "required")
    times["detected_at"] = times["detected_at"] or started
    # Declared when detected: the record of a past incident has no other declaration time.
    _checked(fields.time_order, "started_at", {**times, "declared_at": times["detected_at"]})
    key = None
    if text["key"]:
        matched = KEY_PATTERN.match(text["key"].upper())
        if matched is None:
            raise _Refused("key", f"not an incident key {text['key']!r} (like INC-2024-017)")
        key = (int(matched[1]), int(matched[2]))
    services = _checked(
        lambda given: fields.items(given, "services", limit=63),
        "services",
        text["services"].split(";"),
    )
    values = {
        "title": _checked(fields.title, "title", text["title"]),
        "summary": _checked(fields.text, "summary", text["summary"], "summary"),
        "severity": _checked(parse_severity, "severity", text["severity"]),
        "status": _status(text["status"], times),
        "detection_method": _checked(
            parse_choice,
            "detection_method",
            DetectionMethod,
            text["detection_method"] or "other",
            "detection_method",
        ),
        "commander": text["commander"] or None,
        **times,
        "declared_at": times["detected_at"],
    }
    origin = None
    if key is None:
        identity = "\n".join([values["title"], started.isoformat(), *sorted(services)])
        origin = ORIGIN_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:40]
    return _Row(number, key, origin, values, tuple(sorted(services)))


def _fail(number: int, column: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"row {number}, {column}: {message}", field=f"rows[{number}].{column}")


def parse_csv(content: str) -> list[_Row]:
    """Every row checked on its own (not yet against the database)."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as exc:
        raise _fail(1, "-", f"not CSV: {exc}") from None
    reader.fieldnames = header
    for name in header:
        if name not in COLUMNS:
            raise _fail(1, name, f"not a column of an incident import; use {', '.join(COLUMNS)}")
    for name in REQUIRED:
        if name not in header:
            raise _fail(1, name, "the header lacks this required column")
    rows: list[_Row] = []
    number = 1
    try:
        for number, record in enumerate(reader, start=2):
            rows.append(_checked_row(record, number, len(header), len(rows)))
    except csv.Error as exc:  # a field too large, say: raised reading the row after ``number``
        raise _fail(number + 1, "-", f"not CSV: {exc}") from None
    return rows


def _checked_row(record: dict[str, str], number: int, columns: int, before: int) -> _Row:
    if None in record:
        raise _fail(number, "-", f"more values than the header's {columns} columns")
    if before >= MAX_ROWS:
        raise _fail(number, "-", f"at most {MAX_ROWS} rows per import")
    try:
        return _parse(record, number)
    except _Refused as exc:
        raise _fail(number, exc.column, exc.message) from None


def _check_references(session: Session, rows: list[_Row]) -> None:
    """Services in the catalog, commanders opsloop users, no key or identity twice."""
    known = catalog.routing_facts(session, {s for r in rows for s in r.services})
    people: dict[str, str | None] = {}
    seen_keys: dict[tuple[int, int], int] = {}
    seen_origins: dict[str, int] = {}
    for row in rows:
        for name in row.services:
            if name not in known:
                raise _fail(row.number, "services", f"no service {name!r} in the catalog")
        commander = row.values["commander"]
        if commander is not None:
            if commander not in people:
                try:
                    people[commander] = fields.user(session, commander, "commander")
                except ValidationFailed as exc:
                    raise _fail(
                        row.number, "commander", exc.message.removeprefix("commander: ")
                    ) from None
            row.values["commander"] = people[commander]
        if row.key is not None:
            if row.key in seen_keys:
                raise _fail(row.number, "key", f"the same key as row {seen_keys[row.key]}")
            seen_keys[row.key] = row.number
        if row.origin is not None:
            if row.origin in seen_origins:
                raise _fail(
                    row.number,
                    "title",
                    f"the same title, start and services as row {seen_origins[row.origin]}",
                )
            seen_origins[row.origin] = row.number


def _existing(session: Session, rows: list[_Row]) -> tuple[set[str], set[str]]:
    keys = [incident_key(*r.key) for r in rows if r.key is not None]
    origins = [r.origin for r in rows if r.origin is not None]
    found_keys: set[str] = set()
    found_origins: set[str] = set()
    for chunk in _chunks(keys):
        found_keys.update(session.scalars(select(Incident.key).where(Incident.key.in_(chunk))))
    for chunk in _chunks(origins):
        found_origins.update(
            o
            for o in session.scalars(select(Incident.origin).where(Incident.origin.in_(chunk)))
            if o is not None
        )
    return found_keys, found_origins


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _raise_counter(session: Session, year: int, at_least: int) -> None:
    insert_ = upsert_for(session)
    session.execute(
        insert_(IncidentCounter)
        .values(year=year, last_number=at_least)
        .on_conflict_do_update(
            index_elements=[IncidentCounter.year],
            set_={
                "last_number": case(
                    (IncidentCounter.last_number < at_least, at_least),
                    else_=IncidentCounter.last_number,
                )
            },
        )
    )


def _reserve(session: Session, year: int, count: int) -> range:
    """``count`` numbers of the year from its counter, in one statement (see
    :func:`opsloop.incidents.service.next_number` for why an upsert)."""
    insert_ = upsert_for(session)
    last = session.execute(
        insert_(IncidentCounter)
        .values(year=year, last_number=count)
        .on_conflict_do_update(
            index_elements=[IncidentCounter.year],
            set_={"last_number": IncidentCounter.last_number + count},
        )
        .returning(IncidentCounter.last_number)
    ).scalar_one()
    return range(int(last) - count + 1, int(last) + 1)


def import_csv(
    session: Session, *, principal: Principal, content: str, dry_run: bool = False, source: str = ""
) -> ImportResult:
    """Check every row, then write the new ones in bulk (nothing at all if a row is bad)."""
    require(principal, IMPORT_ROLE)
    rows = parse_csv(content)
    _check_references(session, rows)
    keys, origins = _existing(session, rows)
    new = [
        r
        for r in rows
        if (r.key is None or incident_key(*r.key) not in keys)
        and (r.origin is None or r.origin not in origins)
    ]
    skipped = len(rows) - len(new)
    if dry_run:
        shown = [incident_key(*r.key) for r in new if r.key is not None]
        return ImportResult(len(rows), len(new), skipped, shown, dry_run=True)
    highest: dict[int, int] = {}
    for r in new:
        if r.key is not None:
            highest[r.key[0]] = max(highest.get(r.key[0], 0), r.key[1])
    for year, number in sorted(highest.items()):
        _raise_counter(session, year, number)
    wanted = Counter(r.values["started_at"].year for r in new if r.key is None)
    numbers = {year: iter(_reserve(session, year, n)) for year, n in sorted(wanted.items())}
    for r in new:
        if r.key is None:
            year = r.values["started_at"].year
            r.key = (year, next(numbers[year]))
    created = _write(session, principal, new)
    audit.record(
        session,
        principal=principal,
        action="incident.import",
        entity_type="incident",
        entity_id=f"import:{hashlib.sha256(content.encode()).hexdigest()[:16]}",
        after={
            "source": source,
            "rows": len(rows),
            "created": len(created),
            "skipped": skipped,
            "first_key": created[0] if created else None,
            "last_key": created[-1] if created else None,
        },
    )
    return ImportResult(len(rows), len(created), skipped, created, dry_run=False)


def _write(session: Session, principal: Principal, rows: list[_Row]) -> list[str]:
    if not rows:
        return []
    now = clock.now()
    records = []
    for r in rows:
        assert r.key is not None
        records.append(
            {
                **r.values,
                "key": incident_key(*r.key),
                "year": r.key[0],
                "number": r.key[1],
                "features_impacted": "[]",
                "revenue_impact": "",
                "resolution": "{}",
                "declared_by": principal.actor,
                "updated_at": now,
                "origin": r.origin,
            }
        )
    ids = list(
        session.scalars(
            insert(Incident).returning(Incident.id, sort_by_parameter_order=True), records
        )
    )
    links = [
        {"incident_id": i, "service": s} for i, r in zip(ids, rows, strict=True) for s in r.services
    ]
    if links:
        session.execute(insert(IncidentService), links)
    session.execute(
        insert(TimelineEvent),
        [
            {
                "incident_id": i,
                "at": r.values["declared_at"],
                "kind": EventKind.note,
                "author": principal.actor,
                "text": "imported from a CSV file of past incidents",
                "automatic": False,
                "change": "",
                "audience": None,
                "next_update_at": None,
            }
            for i, r in zip(ids, rows, strict=True)
        ],
    )
    return [rec["key"] for rec in records]
