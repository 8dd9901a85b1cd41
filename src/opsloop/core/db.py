"""Engine, sessions and the declarative base shared by every domain.

Two databases are first-class: SQLite (one file, WAL, foreign keys on) and PostgreSQL through
psycopg 3. Write transactions on SQLite start with ``BEGIN IMMEDIATE`` so that a writer takes the
lock before it reads what it will base its write on (the audit chain's last hash, for one);
otherwise two writers could read the same head and the second would fail at commit time.

Lock order. On PostgreSQL every write transaction takes its locks in this order, and never
takes an earlier one after a later one:

1. the audit lock (a transaction-level advisory lock), taken by :meth:`Database.write` as the
   transaction's first statement. Every control-plane write may audit, so every one takes it
   first. Data-plane writes (``Database.write(audited=False)``: pushed events) never take it and
   so may not audit;
2. ``slos`` rows the transaction changes (pushes: the SLOs they feed), ``FOR NO KEY UPDATE``,
   in ascending id, all in one statement before changing any (:func:`lock_rows`);
3. everything else (buckets, evaluations, alert events, audit records). Inserting a row that
   refers to an SLO takes ``FOR KEY SHARE`` on it, which conflicts with none of the above.

Taking the audit lock "when the first audit record is written" is not enough: by then the
transaction may already hold row locks, and SQLAlchemy's autoflush even runs pending writes
(row locks) before the statement that takes the lock.
On SQLite ``BEGIN IMMEDIATE`` serialises all writers, which satisfies any order.

SQLite writers queue on a lock file. A writer that finds the database locked waits in SQLite's
busy handler, which sleeps and polls: under load most of a writer's time went there and the
longest waits grew to seconds, since a newcomer could win over one that had waited long.
:meth:`Database.write` therefore first takes a process-local lock, then ``flock`` on
``<database>-writelock`` (blocking in the kernel, across processes: the workers and the CLI),
and only then ``BEGIN IMMEDIATE``; both are released after the commit or rollback.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, make_url, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from opsloop.core.id_lists import among

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Row ids fit PostgreSQL's 32-bit INTEGER; larger numbers are refused up front instead of
#: overflowing in the database driver.
MAX_ID = 2_147_483_647

WRITE_OPTION = "opsloop_write"
AUDITED_OPTION = "opsloop_audited"
#: Any fixed 64-bit number; it only has to be the same in every opsloop process.
AUDIT_LOCK_KEY = 0x6F70_736C_6F6F_7001
_TAKE_AUDIT_LOCK = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=AUDIT_LOCK_KEY)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always hands back aware UTC datetimes.

    SQLite has no time zone type and returns naive values; PostgreSQL returns aware ones in the
    session time zone. Normalising here keeps every comparison in the code base aware-to-aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use opsloop.core.clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


#: Connections one process may hold at once: the pool never hands out more. The API's session
#: limits (opsloop.core.deps) stay below it, so a request never waits for a connection while
#: holding a worker thread that another request needs to finish and give its connection back.
CONNECTIONS_PER_PROCESS = 40
#: How many of them the pool keeps open once opened. ``opsloop serve`` keeps them all: a
#: connection opened beyond the kept ones is closed when given back, so under load nearly every
#: read paid for a new PostgreSQL backend (fork, authentication) or SQLite's connect-time
#: pragmas. Short-lived commands (the CLI) keep few.
POOL_SIZE = CONNECTIONS_PER_PROCESS
#: Connections left for everything outside ``opsloop serve``: CLI commands, migrations, psql.
SPARE_CONNECTIONS = 5


def make_engine(url: str, *, pool_size: int = POOL_SIZE) -> Engine:
    pool = {"pool_size": pool_size, "max_overflow": max(0, CONNECTIONS_PER_PROCESS - pool_size)}
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **pool
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    # No pool_pre_ping: it costs a round trip on every checkout, i.e. on every request. A
    # connection that died (server restart, idle timeout) fails its first statement instead;
    # SQLAlchemy then discards every pooled connection opened before the failure, that request
    # answers 503 with Retry-After (opsloop.core.api_errors) and the next one reconnects.
    # pool_recycle retires connections before common idle timeouts would kill them.
    engine = create_engine(url, pool_recycle=1800, **pool)
    event.listen(engine, "connect", _postgresql_on_connect)
    return engine


def _postgresql_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # PostgreSQL compiles a statement to machine code once its estimated cost passes
    # jit_above_cost. opsloop's statements are short, and the compiling costs more than it
    # saves: the window sums of 1,000 SLOs spent 130 ms of 450 ms on it
    # (benchmarks/perf/README.md). A session setting rather than a startup option, which
    # connection poolers such as PgBouncer refuse; committed, so that no rollback undoes it.
    dbapi_connection.execute("SET jit = off")
    dbapi_connection.commit()


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


#: WAL pages (4 KiB) after which a commit copies them back into the database file.
WAL_CHECKPOINT_PAGES = 10_000

#: Each SQLite connection keeps its own page cache, 2 MiB by default: up to 80 MB for a serve
#: worker's CONNECTIONS_PER_PROCESS connections, all copies of pages the kernel caches anyway.
#: Reads cost the same with 1 MiB (a miss is one pread from the kernel's cache), and so do bulk
#: pushes; at 512 KiB a transaction writing 5,000 indexed rows took a third more CPU.
SQLITE_CACHE_KIB = 1024


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module so BEGIN is ours to issue.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Checkpoint after 40 MB of WAL instead of SQLite's 4 MB: a bulk push of 100 SLOs dirties
    # some 400 pages, so at the default every third commit copied pages back into the database
    # file and synced it; less often, the hour and day pages that every push rewrites are
    # copied once per checkpoint instead of once per commit (bulk pushes +36 %).
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # negative: KiB, not pages
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """An engine plus the session factories: read (plain), write (serialising, may audit) and
    data write (serialising per row, never audits)."""

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self._write_lock = _SqliteWriteLock.for_url(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = {
            audited: sessionmaker(
                self.engine.execution_options(**{WRITE_OPTION: True, AUDITED_OPTION: audited}),
                expire_on_commit=False,
            )
            for audited in (True, False)
        }

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def read_session(self) -> Session:
        """A read session the caller closes (prefer :meth:`read`)."""
        return self._read()

    @contextmanager
    def read(self) -> Iterator[Session]:
        # Closing (not rolling back) keeps loaded objects readable after the block.
        with self._read() as session:
            yield session

    @contextmanager
    def write(self, *, audited: bool = True) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception.

        ``audited=False`` is for data-plane writes that record no audit trail (see the lock
        order above); everything else leaves ``audited`` on.
        """
        with self._queued(), self._write[audited]() as session, session.begin():
            if audited and self.dialect == "postgresql":
                session.execute(_TAKE_AUDIT_LOCK)
            yield session

    @contextmanager
    def _queued(self) -> Iterator[None]:
        if self._write_lock is None:
            yield
        else:
            with self._write_lock.held():
                yield

    def dispose(self) -> None:
        self.engine.dispose()
        if self._write_lock is not None:
            self._write_lock.close()


class _SqliteWriteLock:
    """The FIFO-ish write lock of one SQLite file (see the module docstring).

    ``flock`` belongs to an open file description, which all threads of a process share, so a
    thread lock makes the threads take turns first. A thread that already holds the lock of the
    same file (a write inside a write, through a second :class:`Database`) does not take it again:
    it meets ``BEGIN IMMEDIATE``'s busy timeout as it did before, instead of waiting forever.
    """

    _held = threading.local()

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path) + "-writelock"
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @classmethod
    def for_url(cls, url: str) -> _SqliteWriteLock | None:
        if not is_sqlite(url):
            return None
        parsed = make_url(url)
        path = parsed.database or ""
        if not path or path == ":memory:" or path.startswith("file:") or parsed.query:
            return None  # in memory (or a URI we do not parse): one connection, nobody to queue
        return cls(path)

    @contextmanager
    def held(self) -> Iterator[None]:
        held: set[str] = self._held.__dict__.setdefault("paths", set())
        if self.path in held:
            yield
            return
        with self._threads:
            fd = self._file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            held.add(self.path)
            try:
                yield
            finally:
                held.discard(self.path)
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _file(self) -> int:
        # Opened per process: a descriptor inherited through fork would share its lock.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        with self._threads:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


def is_write_session(session: Session) -> bool:
    """True inside ``Database.write()``: a transaction that holds the audit lock and may audit."""
    options = session.connection().get_execution_options()
    return bool(options.get(WRITE_OPTION) and options.get(AUDITED_OPTION))


def upsert_for(session: Session) -> Callable[..., Any]:
    """The dialect's ``insert`` (both have ``on_conflict_do_update``)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert: Callable[..., Any] = dialect.insert
    return insert


def next_in_year(session: Session, counter: Any, year: int) -> int:
    """The year's next number from ``counter`` (a table with ``year`` and ``last_number``),
    taken in the caller's transaction: one statement that inserts the year's row or increments
    it and returns the result. Its row lock holds off every other taker of the year until this
    transaction ends, so no two get the same number, and a rollback takes the increment back
    with it (keys stay gap-free)."""
    statement = (
        upsert_for(session)(counter)
        .values(year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=[counter.year], set_={"last_number": counter.last_number + 1}
        )
        .returning(counter.last_number)
    )
    return int(session.execute(statement).scalar_one())


def lock_rows(session: Session, id_column: Any, ids: Iterable[int]) -> None:
    """Lock rows in ascending id (step 2 of the lock order) on PostgreSQL; SQLite's write
    transaction already holds the database lock."""
    wanted = sorted(set(ids))
    if wanted and session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(id_column)
            .where(among(id_column, wanted))
            .order_by(id_column)
            .with_for_update(key_share=True)
        )


def usable_connections(db: Database) -> int | None:
    """How many connections PostgreSQL lets ordinary roles open; None on SQLite."""
    if db.dialect != "postgresql":
        return None
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('max_connections', 'superuser_reserved_connections', 'reserved_connections')"
            )
        )
        settings = {str(name): str(value) for name, value in rows}
    reserved = sum(
        int(settings.get(name, 0))
        for name in ("superuser_reserved_connections", "reserved_connections")
    )
    return int(settings["max_connections"]) - reserved


def connection_budget_problem(usable: int, workers: int) -> str | None:
    """Why ``workers`` processes would run out of connections, or None when they fit."""
    needed = workers * CONNECTIONS_PER_PROCESS + SPARE_CONNECTIONS
    if needed <= usable:
        return None
    fitting = max(0, (usable - SPARE_CONNECTIONS) // CONNECTIONS_PER_PROCESS)
    advice = (
        f"set OPSLOOP_WORKERS (or --workers) to at most {fitting}"
        if fitting
        else "this server cannot take even one worker"
    )
    return (
        f"{workers} worker(s) x {CONNECTIONS_PER_PROCESS} connections each "
        f"+ {SPARE_CONNECTIONS} spare = {needed}, but PostgreSQL allows {usable} "
        f"(max_connections minus reserved); {advice}, or raise max_connections"
    )
