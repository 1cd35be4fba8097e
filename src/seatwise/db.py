"""Engine, sessions and the unit of work: one commit per request, command or job."""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Select,
    String,
    Table,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator, TypeEngine

from seatwise.core.errors import BadInput, ErrorCode

if TYPE_CHECKING:
    from alembic.config import Config

_Query = TypeVar("_Query", bound=Select[Any])

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)

    if TYPE_CHECKING:
        # Every model is mapped to a table (none to a join or a select), as bulk_insert and bulk_update take.
        __table__: ClassVar[Table]


M = TypeVar("M", bound=Base)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is UTC-aware in Python on every database.

    SQLite has no time type: there it is ISO-8601 text in UTC of one fixed width, so that
    comparing the text compares the times (and writing it is cheap: the billing run writes
    millions).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(String(26) if dialect.name == "sqlite" else DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Seatwise stores UTC-aware times only")
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return _sqlite_text(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return _sqlite_time(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The same few instants (period boundaries, the run's moment) recur across millions of rows.
@lru_cache(maxsize=4096)
def _sqlite_text(value: datetime) -> str:
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


@lru_cache(maxsize=4096)
def _sqlite_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy's "begin" event decide how transactions start (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: the billing run updates large indexes
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers take SQLite's write lock when they begin, so that a check ("is a seat
    # free?") and the write that follows it cannot interleave with another process.
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per database URL for the life of the process."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BadInput(
            f"invalid database URL {url!r}: expected sqlite:///path.db or postgresql+psycopg://user@host/db",
            code=ErrorCode.INVALID_DATABASE_URL,
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise BadInput(
        f"unsupported database {parsed.get_backend_name()!r}: expected sqlite or postgresql",
        code=ErrorCode.INVALID_DATABASE_URL,
    )


@lru_cache(maxsize=8)
def _writers(url: str) -> AbstractContextManager[object]:
    """SQLite has one writer at a time, and a writer that finds the lock taken sleeps in steps of up to
    100 ms: the threads of one process queue on a lock of their own instead, woken the moment it frees."""
    return threading.RLock() if engine_for(url).dialect.name == "sqlite" else nullcontext()


@contextmanager
def unit_of_work(url: str) -> Iterator[Session]:
    """A session whose work is committed once at the end, or rolled back whole on any error."""
    factory = sessionmaker(engine_for(url), expire_on_commit=False)
    with _writers(url), factory() as session:
        try:
            if session.get_bind().dialect.name == "sqlite":
                # Take the write lock now, so that the time the work reads from the clock comes after every
                # other writer's commit; the work's own row locks do the same on PostgreSQL.
                session.connection()
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_only(url: str) -> Iterator[Session]:
    """A session for reads: no write lock on SQLite, nothing committed."""
    engine = engine_for(url).execution_options(sqlite_begin="DEFERRED")
    # Closing rolls the transaction back, and, unlike rollback(), leaves the rows loaded, so that a
    # page can render what it read after the session is gone.
    with Session(engine) as session:
        yield session


@contextmanager
def claimed_for_this_process(url: str, name: str, key: int) -> Iterator[bool]:
    """Hold `(name, key)` for this process, outside any transaction: True if it was free, False if another
    process or thread holds it. It dies with its process, so a killed worker's claim is free at once, and no
    row stays locked meanwhile: a PostgreSQL advisory lock, or on SQLite a byte lock in a file beside it
    (which, being per process, also needs the set of this process's claims)."""
    claim = (url, name, key)
    with _CLAIMS_LOCK:
        mine = claim not in _CLAIMS
        _CLAIMS.add(claim)
    if not mine:
        yield False
        return
    try:
        with _claimed(url, name, key) as held:
            yield held
    finally:
        with _CLAIMS_LOCK:
            _CLAIMS.discard(claim)


_CLAIMS: set[tuple[str, str, int]] = set()
_CLAIMS_LOCK = threading.Lock()


@contextmanager
def _claimed(url: str, name: str, key: int) -> Iterator[bool]:
    engine = engine_for(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            args = {"name": name, "key": key}
            held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(hashtext(:name), :key)"), args))
            try:
                yield held
            finally:
                if held:
                    conn.execute(text("SELECT pg_advisory_unlock(hashtext(:name), :key)"), args)
        return
    path = f"{engine.url.database}.{name}.lock"
    with open(path, "a+b") as file:
        try:
            fcntl.lockf(file, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, key)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.lockf(file, fcntl.LOCK_UN, 1, key)


def alembic_config(url: str) -> Config:
    """Alembic's configuration for the database at `url`, with our migrations."""
    from alembic.config import Config  # here: Alembic costs every command ~150 ms to import; only upgrades need it

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest schema."""
    from alembic import command  # (see alembic_config)

    command.upgrade(alembic_config(url), "head")


def _writer(column: Column[Any], dialect_name: str) -> Callable[[Any], Any] | None:
    """How a value reaches the driver for `column`, as the column's type would send it."""
    if isinstance(column.type, UTCDateTime):
        if dialect_name == "sqlite":
            return lambda v: None if v is None else _sqlite_text(v if v.tzinfo is UTC else v.astimezone(UTC))
        return None
    if isinstance(column.type, JSON):
        return lambda v: None if v is None else json.dumps(v)
    return None


def _placeholder(dialect: Dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _params(table: Table, dialect_name: str, rows: list[dict[str, Any]], names: list[str]) -> list[tuple[Any, ...]]:
    take = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    converted = [(i, w) for i, w in enumerate(_writer(table.c[n], dialect_name) for n in names) if w]
    if not converted:
        return [take(row) for row in rows]
    params = []
    for row in rows:
        values = list(take(row))
        for i, write in converted:
            values[i] = write(values[i])
        params.append(tuple(values))
    return params


def insert_or_merge(session: Session, model: type[Any]) -> Any:
    """An INSERT into `model` in this database's dialect, which can say ON CONFLICT (do nothing, or update)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def load(session: Session, model: type[M], row_id: int, *, lock: bool = False) -> M | None:
    """The row of `model` with this id, or None; with `lock`, row-locked for an update and read afresh."""
    query = select(model).where(model.id == row_id)  # type: ignore[attr-defined]
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def get_existing(session: Session, model: type[M], key: object) -> M:
    """A row that must exist, such as the one a foreign key names; a missing one is a bug, not bad input."""
    found = session.get(model, key)
    if found is None:
        raise LookupError(f"no {model.__name__} {key!r}")
    return found


def page(
    query: _Query, column: InstrumentedAttribute[int], *, after: int | None, limit: int | None, descending: bool = False
) -> _Query:
    """One page of `query` in `column`'s order: the rows after the id `after`, at most `limit` of them."""
    if after is not None:
        query = query.where(column < after if descending else column > after)
    query = query.order_by(column.desc() if descending else column)
    return query if limit is None else query.limit(limit)


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows straight through the driver's executemany.

    For the billing run's hot path only: it skips SQLAlchemy's per-row parameter handling,
    which costs more than the database's own work there; values are converted as the column
    types would convert them.
    """
    if not rows:
        return
    connection = session.connection()
    names = list(rows[0])
    mark = _placeholder(connection.dialect)
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(mark for _ in names)})"
    connection.exec_driver_sql(sql, _params(table, connection.dialect.name, rows, names))


def bulk_update(session: Session, table: Table, rows: list[dict[str, Any]], *, key: str = "id") -> None:
    """UPDATE many rows by `key` straight through the driver's executemany (see bulk_insert)."""
    if not rows:
        return
    connection = session.connection()
    names = [name for name in rows[0] if name != key]
    mark = _placeholder(connection.dialect)
    sql = f"UPDATE {table.name} SET {', '.join(f'{n} = {mark}' for n in names)} WHERE {key} = {mark}"
    connection.exec_driver_sql(sql, _params(table, connection.dialect.name, rows, [*names, key]))
