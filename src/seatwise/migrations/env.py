"""Alembic environment: the same migrations for SQLite and PostgreSQL."""

from alembic import context

import seatwise.models  # noqa: F401  (registers every table)
from seatwise.db import Base, engine_for

config = context.config
url = config.get_main_option("sqlalchemy.url")


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    with engine_for(url).connect() as connection:
        _run(connection)


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite and not connection.in_transaction():
        # A migration that rebuilds a table other tables refer to (SQLite changes constraints that way) must
        # run with foreign keys off, which SQLite only allows outside a transaction; they are checked at the end.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=sqlite)
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                raise RuntimeError("the migration left rows that refer to missing ones")
    finally:
        if sqlite and not connection.in_transaction():
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


run_migrations_online()
