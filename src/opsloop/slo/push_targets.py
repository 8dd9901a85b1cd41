"""The SLOs a group of pushes names, looked up once per group (opsloop.slo.ingestion).

A group names SLOs by id, ``service/name`` or a unique bare name; one query finds them all.
On SQLite the answers are kept between groups while the counter ``slos`` stands still
(:class:`Known`), so a steady stream of pushes looks its SLOs up once a minute, not once a
group.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, NamedTuple

from sqlalchemy import Integer, String, any_, bindparam, cast, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from opsloop.core import generations
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.core.schemas import MAX_ID
from opsloop.slo.event_writes import array_text
from opsloop.slo.models import SLO

Found = tuple[dict[int, "Target"], dict[str, "Target | OpsloopError | None"]]


class Target(NamedTuple):
    """What validating a push needs of its SLO, read without ORM objects."""

    id: int
    service: str
    name: str
    source: str
    spec: str


_SLOS = SLO.__table__
_LOOKUPS: dict[tuple[bool, bool, bool, bool], Any] = {}


def _array(name: str, item: Any) -> Any:
    """A PostgreSQL array given as one text parameter (see event_writes.array_text). The
    parameter has no type of its own: bound as ``VARCHAR`` and then cast, PostgreSQL parsed the
    array text again for every row it scanned."""
    return cast(bindparam(name), ARRAY(item))


def _lookup_statement(ids: bool, pairs: bool, names: bool, arrays: bool) -> Any:
    """The lookup for SLOs named by ids, pairs and/or names, built once per combination: a
    statement built anew costs more than running it (its cache key, and its result columns
    matched again to the cached compilation's).

    With ``arrays`` (PostgreSQL) each list is one array parameter: an expanding ``IN`` of a
    hundred ids made the statement's text anew for every group (one placeholder per id), which
    the driver then parsed again, and it dumped each id on its own; that took longer than the
    query. SQLite has no arrays, and :class:`Known` spares it most lookups."""
    key = (ids, pairs, names, arrays)
    found = _LOOKUPS.get(key)
    if found is None:
        c = _SLOS.c
        conditions = []
        if ids:
            conditions.append(
                c.id == any_(_array("ids", Integer()))
                if arrays
                else c.id.in_(bindparam("ids", expanding=True))
            )
        if pairs:
            listed: Any = (
                select(
                    func.unnest(_array("services", String())),
                    func.unnest(_array("pair_names", String())),
                )
                if arrays
                else bindparam("pairs", expanding=True)
            )
            conditions.append(tuple_(c.service, c.name).in_(listed))
        if names:
            conditions.append(
                c.name == any_(_array("names", String()))
                if arrays
                else c.name.in_(bindparam("names", expanding=True))
            )
        columns = (c.id, c.service, c.name, c.source, c.spec)
        # The rows are locked as they are read, as events.ingest would lock them (lock order of
        # opsloop.core.db: one statement, ascending id): one round trip fewer per group, and
        # what is validated cannot change before the group commits. SQLite has no row locks
        # (its write transaction holds the whole database); there this is a plain SELECT.
        found = _LOOKUPS[key] = (
            select(*columns).where(or_(*conditions)).order_by(c.id).with_for_update(key_share=True)
        )
    return found


def _parameters(
    wanted: set[int], pairs: set[tuple[str, str]], names: set[str], arrays: bool
) -> dict[str, Any]:
    if not arrays:
        given = {"ids": list(wanted), "pairs": list(pairs), "names": list(names)}
        return {name: values for name, values in given.items() if values}
    params: dict[str, Any] = {}
    if wanted:
        params["ids"] = array_text(sorted(wanted))
    if pairs:
        ordered = sorted(pairs)
        params["services"] = array_text([service for service, _ in ordered])
        params["pair_names"] = array_text([name for _, name in ordered])
    if names:
        params["names"] = array_text(sorted(names))
    return params


class Known:
    """SLOs resolved by earlier groups, kept while the counter ``slos`` stands still: any write
    to ``slos`` moves it in its own transaction (opsloop.core.generations). Only for SQLite,
    whose write transaction holds the whole database: a counter read inside it cannot change
    before the commit, so what it vouches for stays true while the group is stored. PostgreSQL
    reads the rows every time, because that read also takes their row locks."""

    #: Beyond this many entries the next group starts afresh: names nobody sends again (typos,
    #: deleted SLOs) must not pile up.
    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self.generation: int | None = None
        self.by_id: dict[int, Target] = {}
        self.by_ref: dict[str, Target | None] = {}
        self.lock = threading.Lock()

    def reset(self, generation: int | None) -> None:
        self.generation = generation
        self.by_id.clear()
        self.by_ref.clear()


_KNOWN: weakref.WeakKeyDictionary[Engine, Known] = weakref.WeakKeyDictionary()


def resolve(
    session: Session, ids: set[int], refs: set[str]
) -> tuple[dict[int, Target], dict[str, Target | OpsloopError | None]]:
    """:func:`lookup`, answered from :class:`Known` where it vouches for the rows."""
    engine = session.get_bind()
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        return lookup(session, ids, refs)
    known = _KNOWN.get(engine)
    if known is None:
        known = _KNOWN.setdefault(engine, Known())
    generation = generations.current(session, "slos")
    with known.lock:
        stale = generation is None or generation != known.generation
        if stale or len(known.by_id) + len(known.by_ref) > Known.MAX_ENTRIES:
            known.reset(generation)
        missing_ids = {i for i in ids if i not in known.by_id}
        missing_refs = {r for r in refs if r not in known.by_ref}
        if missing_ids or missing_refs:
            found_ids, found_refs = lookup(session, missing_ids, missing_refs)
            if generation is None:
                return found_ids, found_refs
            known.by_id.update(found_ids)
            for ref, target in found_refs.items():
                # An ambiguous bare name is answered afresh each time, not kept as an error.
                if not isinstance(target, OpsloopError):
                    known.by_ref[ref] = target
                    if target is not None:
                        known.by_id[target.id] = target
            ambiguous = {r: t for r, t in found_refs.items() if isinstance(t, OpsloopError)}
        else:
            ambiguous = {}
        by_id = {i: known.by_id[i] for i in ids if i in known.by_id}
        by_ref: dict[str, Target | OpsloopError | None] = {
            r: known.by_ref[r] for r in refs if r in known.by_ref
        }
    by_ref.update(ambiguous)
    return by_id, by_ref


def lookup(
    session: Session, ids: set[int], refs: set[str]
) -> tuple[dict[int, Target], dict[str, Target | OpsloopError | None]]:
    """Every SLO the group names, in one query: ids, ``service/name`` pairs and bare names,
    their rows locked (see :func:`_lookup_statement`)."""
    ref_ids = {int(r) for r in refs if r.isascii() and r.isdigit() and 0 < int(r) <= MAX_ID}
    pairs = {(service, name) for service, _, name in (r.partition("/") for r in refs if "/" in r)}
    names = {r for r in refs if "/" not in r and not (r.isascii() and r.isdigit())}
    wanted = ids | ref_ids
    if not (wanted or pairs or names):
        return {}, dict.fromkeys(refs)
    connection = session.connection()
    arrays = connection.dialect.name == "postgresql"
    statement = _lookup_statement(bool(wanted), bool(pairs), bool(names), arrays)
    params = _parameters(wanted, pairs, names, arrays)
    # On the connection: a plain Core query needs none of the ORM's result handling.
    rows = [Target(*row) for row in connection.execute(statement, params)]
    by_id = {t.id: t for t in rows}
    by_pair = {(t.service, t.name): t for t in rows}
    by_ref: dict[str, Target | OpsloopError | None] = {}
    for ref in refs:
        if ref.isascii() and ref.isdigit():
            by_ref[ref] = by_id.get(int(ref))
        elif "/" in ref:
            service, _, name = ref.partition("/")
            by_ref[ref] = by_pair.get((service, name))
        else:
            named = [t for t in rows if t.name == ref]
            by_ref[ref] = (
                ValidationFailed(
                    f"several SLOs are named {ref!r}; use service/name", field="events"
                )
                if len(named) > 1
                else (named[0] if named else None)
            )
    return by_id, by_ref
