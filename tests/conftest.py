"""Shared fixtures: every database test runs on a real SQLite file and on the real PostgreSQL server."""

from __future__ import annotations

import functools
import os
import shutil
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from seatwise import db, handlers  # noqa: F401  (the reactions to domain events, as every process loads them)
from seatwise.models import AuditEntry  # noqa: F401  (loads every table)

PG_URL = os.environ.get("SEATWISE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # a Sunday morning; November has 30 days


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "seatwise.db"
    url = f"sqlite:///{path}"
    db.upgrade(url)
    db.engine_for(url).dispose()
    return str(path)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL test database, migrated from scratch once per test session."""
    engine = create_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # the suite must not pass without PostgreSQL
        pytest.fail(f"PostgreSQL at {PG_URL} is unreachable ({exc.__class__.__name__}); start it and run again",
                    pytrace=False)
    finally:
        engine.dispose()
    db.upgrade(PG_URL)
    return PG_URL


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
        sequences = conn.execute(text("SELECT sequence_name FROM information_schema.sequences "
                                      "WHERE sequence_schema = 'public'")).scalars().all()
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


@pytest.fixture
def uow(db_url):
    """`with uow() as session:` opens one unit of work on the test database."""
    return lambda: db.unit_of_work(db_url)
