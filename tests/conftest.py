"""Shared fixtures: every database test runs on a real SQLite file and on the real PostgreSQL server."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from seatwise import db, handlers  # noqa: F401  (the reactions to domain events, as every process loads them)
from seatwise.models import AuditEntry  # noqa: F401  (loads every table)
from tests.localstripe import localstripe  # noqa: F401  (a localstripe server on 127.0.0.1, for the Stripe gateway)

# The suite's webhook receivers listen on 127.0.0.1, which webhooks may not reach unless the operator allows it;
# set here, so that every `seatwise serve` and `worker` the tests start inherits it.
os.environ["SEATWISE_WEBHOOK_ALLOW"] = "127.0.0.1"
BASE_PG_URL = os.environ.get("SEATWISE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # a Sunday morning; November has 30 days


def _worker_pg_url(base: str) -> str:
    """This process's PostgreSQL database: the given one, or `<db>_gw0`, `<db>_gw1`… under pytest-xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return base
    url = make_url(base)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


PG_URL = _worker_pg_url(BASE_PG_URL)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "seatwise.db"
    url = f"sqlite:///{path}"
    db.upgrade(url)
    db.engine_for(url).dispose()
    return str(path)


def _maintenance(url: str):
    """An engine on the server's `postgres` database, outside any transaction, for CREATE and DROP DATABASE."""
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _recreate_database(url: str) -> None:
    """An empty database of this name; one left over by a killed run is dropped first."""
    name = make_url(url).database
    admin = _maintenance(url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def _drop_database(url: str) -> None:
    db.engine_for(url).dispose()
    admin = _maintenance(url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The PostgreSQL test database, migrated from scratch once per test session.

    Under pytest-xdist each worker has a database of its own, created here and dropped at the end; a
    single process uses the given database itself, emptied of everything first."""
    own = PG_URL != BASE_PG_URL
    try:
        if own:
            _recreate_database(PG_URL)
        else:
            engine = create_engine(PG_URL)
            try:
                with engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
            finally:
                engine.dispose()
    except Exception as exc:  # noqa: BLE001  the suite must not pass without PostgreSQL, whatever stops it
        pytest.fail(
            f"PostgreSQL at {PG_URL} is unreachable ({exc.__class__.__name__}: {exc}); start it and run again",
            pytrace=False,
        )
    db.upgrade(PG_URL)
    yield PG_URL
    if own:
        _drop_database(PG_URL)


def _truncate_postgres(url: str) -> None:
    """Empty every table and restart every id, as a fresh migration leaves them.

    DELETE, children first, is several times faster than TRUNCATE on tables this small, and the
    suite empties them before every test (and every hypothesis example that asks).
    """
    with db.engine_for(url).begin() as conn:
        conn.exec_driver_sql(_reset_sql(url))


@functools.lru_cache(maxsize=4)
def _reset_sql(url: str) -> str:
    with db.engine_for(url).connect() as conn:
        sequences = (
            conn.execute(
                text("SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'")
            )
            .scalars()
            .all()
        )
    deletes = [f"DELETE FROM {t.name}" for t in reversed(db.Base.metadata.sorted_tables)]
    return "; ".join(deletes + [f"ALTER SEQUENCE {name} RESTART" for name in sequences])


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A migrated, empty database: a fresh SQLite file, or the PostgreSQL database emptied."""
    if request.param == "sqlite":
        path = tmp_path / "seatwise.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        yield url
        db.engine_for(url).dispose()
        return
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    yield url


class UnitOfWork:
    """`with uow() as session:` opens one unit of work on the test database at `uow.url`."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self):
        return db.unit_of_work(self.url)


@pytest.fixture
def uow(db_url):
    """`with uow() as session:` opens one unit of work on the test database."""
    return UnitOfWork(db_url)


@pytest.fixture(autouse=True)
def gateway_store(tmp_path, monkeypatch):
    """The simulated gateway keeps what it did in a file of this test's own (inherited by the processes
    it starts), as an outside system would: no two tests share its charges."""
    path = tmp_path / "gateway.sqlite3"
    monkeypatch.setenv("SEATWISE_GATEWAY_STORE", str(path))
    return path
