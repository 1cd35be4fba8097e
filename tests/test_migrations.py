"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from seatwise import db


def test_migrations_match_the_models(db_url):
    with db.engine_for(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.Base.metadata)
    assert diff == []


def test_the_sign_in_migration_keeps_users_and_sessions_and_makes_addresses_unique_per_organisation(db_url):
    import pytest
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    config = db.alembic_config(db_url)
    before = ScriptDirectory.from_config(config).get_revision("0007").down_revision
    command.downgrade(config, before)
    try:
        t0 = "2026-11-01 09:30:00+00:00"
        with db.engine_for(db_url).begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organizations (id, name, currency, locale, created_at)"
                    " VALUES (1, 'Contoso', 'EUR', 'en', :t), (2, 'Fabrikam', 'EUR', 'nl', :t)"
                ),
                {"t": t0},
            )
            conn.execute(
                text(
                    "INSERT INTO users (id, org_id, email, name, role, created_at)"
                    " VALUES (1, 1, 'pat@example.com', 'Pat', 'global_admin', :t)"
                ),
                {"t": t0},
            )
            conn.execute(
                text(
                    "INSERT INTO web_sessions (token_hash, user_id, csrf_token, created_at, expires_at)"
                    " VALUES ('h', 1, 'c', :t, :t)"
                ),
                {"t": t0},
            )
    finally:
        db.engine_for(db_url).dispose()
        command.upgrade(config, "head")
    with db.engine_for(db_url).begin() as conn:
        assert conn.execute(text("SELECT id, org_id, email FROM users")).all() == [(1, 1, "pat@example.com")]
        session = conn.execute(text("SELECT user_id, created_at, last_seen_at FROM web_sessions")).one()
        assert session[0] == 1 and session[1] == session[2]  # a session's last use starts at its creation
        conn.execute(
            text(
                "INSERT INTO users (id, org_id, email, name, role, created_at)"
                " VALUES (2, 2, 'pat@example.com', 'Pat', 'global_admin', '2026-11-01 09:30:00+00:00')"
            )
        )
    with pytest.raises(IntegrityError), db.engine_for(db_url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, org_id, email, name, role, created_at)"
                " VALUES (3, 1, 'pat@example.com', 'Pat', 'user', '2026-11-01 09:30:00+00:00')"
            )
        )


def test_r23_the_billing_profile_migration_copies_the_vendor_profile_into_its_versions_and_downgrades(db_url):
    from alembic import command
    from sqlalchemy import inspect, text

    config = db.alembic_config(db_url)
    command.downgrade(config, "0012")
    try:
        assert "billing_profiles" not in inspect(db.engine_for(db_url)).get_table_names()
        with db.engine_for(db_url).begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO vendor_profile (id, name, address_line, postcode, city, country, vat_id, oss,"
                    " invoice_prefix, updated_at) VALUES (1, 'Seatwise B.V.', 'Keizersgracht 1', '1015 CJ',"
                    " 'Amsterdam', 'NL', 'NL000099998B57', false, 'SW', '2026-11-01 09:30:00+00:00')"
                )
            )
    finally:
        db.engine_for(db_url).dispose()
        command.upgrade(config, "head")
    with db.engine_for(db_url).begin() as conn:
        assert conn.execute(text("SELECT name, vat_id, invoice_prefix, actor FROM vendor_profile_versions")).all() == [
            ("Seatwise B.V.", "NL000099998B57", "SW", "migration")
        ]
        assert {"vendor_version_id", "billing_profile_id"} <= {c["name"] for c in inspect(conn).get_columns("invoices")}
