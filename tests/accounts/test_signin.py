"""Sign-in's transactions: the password is checked with none open, and every address costs the same checks."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
from sqlalchemy.engine import make_url

from seatwise.accounts import service as accounts
from seatwise.accounts import signin_flow
from seatwise.core.roles import OPERATOR
from seatwise.organizations import service as organizations
from seatwise.passwords import verify_password
from tests.conftest import T0
from tests.factories import world
from tests.web.conftest import PASSWORD

ADMIN = "global_admin@contoso.example"
CLIENT = "203.0.113.5"


def _admin(uow) -> None:
    with uow() as s:
        w = world(s, now=T0, users=0)
        organizations.set_password(s, user_id=w.global_admin.user_id, password=PASSWORD, now=T0)


def _write_meanwhile(db_url: str) -> None:
    """Another connection writes the rows sign-in reads and counts, and must not wait for it."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        try:
            connection.execute("PRAGMA busy_timeout=0")  # SQLITE_BUSY at once if anyone holds the write lock
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("UPDATE sign_in_attempts SET failures = failures")
            connection.execute("UPDATE users SET name = name")
            connection.execute("COMMIT")
        finally:
            connection.close()
        return
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False)) as connection:
        connection.execute("SET lock_timeout = '50ms'")  # an error rather than a wait on a locked row
        connection.execute("UPDATE sign_in_attempts SET failures = failures")
        connection.execute("UPDATE users SET name = name")
        idle_in_transaction = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        ).fetchone()
        assert idle_in_transaction == (0,)


def test_while_a_password_is_checked_no_transaction_is_open_and_other_writers_do_not_wait(uow, db_url):
    """The finding: sign-in held SQLite's write lock during argon2 (the API's writes slowed from 4.5 to 148 ms)."""
    _admin(uow)
    checking, release = threading.Event(), threading.Event()

    def slow_verify(password_hash: str | None, password: str) -> bool:
        checking.set()
        assert release.wait(10)
        return verify_password(password_hash, password)

    with ThreadPoolExecutor(max_workers=1) as pool:
        signing_in = pool.submit(
            signin_flow.sign_in,
            db_url,
            email=ADMIN,
            password=PASSWORD,
            operator=False,
            client=CLIENT,
            now=T0,
            verify=slow_verify,
        )
        assert checking.wait(10)
        try:
            _write_meanwhile(db_url)
        finally:
            release.set()
        assert isinstance(signing_in.result(timeout=10), accounts.SignedIn)


def test_no_address_one_account_or_accounts_in_two_organisations_cost_the_same_password_checks(uow, db_url):
    """An address's accounts are told apart by no answer, and by no count of argon2 checks up to two."""
    with uow() as s:
        w = world(s, now=T0, users=0)
        other = world(s, now=T0, users=0, name="Fabrikam", sku="FAB")
        organizations.set_password(s, user_id=w.global_admin.user_id, password=PASSWORD, now=T0)
        twin = organizations.add_user(
            s, org_id=other.org_id, email="user_admin@contoso.example", name=None, role="global_admin",
            actor=OPERATOR, now=T0,
        )  # fmt: skip
        s.flush()
        organizations.set_password(s, user_id=twin.id, password=PASSWORD, now=T0)
        organizations.set_password(s, user_id=w.user_admin.user_id, password=PASSWORD, now=T0)
    checks: list[str | None] = []

    def counted(password_hash: str | None, password: str) -> bool:
        checks.append(password_hash)
        return verify_password(password_hash, password)

    counts = []
    for n, email in enumerate(("nobody@contoso.example", ADMIN, "user_admin@contoso.example")):
        checks.clear()
        outcome = signin_flow.sign_in(
            db_url, email=email, password="wrong password", operator=False, client=f"192.0.2.{n}", now=T0,
            verify=counted,
        )  # fmt: skip
        assert outcome is None
        counts.append(len(checks))
    assert counts == [accounts.VERIFICATIONS_AT_LEAST] * 3
    right = signin_flow.sign_in(
        db_url, email="user_admin@contoso.example", password=PASSWORD, operator=False, client="192.0.2.9", now=T0
    )
    assert isinstance(right, accounts.Choose) and [c.org_name for c in right.choices] == ["Contoso", "Fabrikam"]
