"""Admin center passwords from the CLI: set with --password or from stdin, stored only as argon2 hashes."""

from __future__ import annotations

from sqlalchemy import text

from seatwise import db
from seatwise.passwords import verify_password
from tests.cli.conftest import one_line_error, snapshot


def _hash_of(url: str, table: str, email: str) -> str | None:
    with db.read_only(url) as s:
        return s.execute(text(f"SELECT password_hash FROM {table} WHERE email = :e"), {"e": email}).scalar_one()


def _org(cli) -> int:
    return cli.ok("org", "add", "--name", "Contoso", "--currency", "EUR", "--locale", "en")["id"]


def test_an_admin_gets_a_password_with_user_add_or_from_stdin_and_only_its_hash_is_kept(cli, db_url):
    org = _org(cli)
    admin = cli.ok(
        "user",
        "add",
        "--org",
        org,
        "--email",
        "a@contoso.example",
        "--role",
        "global_admin",
        "--password",
        "first password",
    )
    first = _hash_of(db_url, "users", "a@contoso.example")
    assert first.startswith("$argon2id$") and verify_password(first, "first password")
    res = cli("user", "password", admin["id"], stdin="second password\n")
    assert res.exit_code == 0, res
    second = _hash_of(db_url, "users", "a@contoso.example")
    assert verify_password(second, "second password") and not verify_password(second, "first password")
    with db.read_only(db_url) as s:
        audit = " ".join(str(row) for row in s.execute(text("SELECT before, after FROM audit_log")))
    assert "password" not in audit.replace("password_set", "") and "argon2" not in audit


def test_a_short_password_is_bad_input_and_changes_nothing(cli, db_url):
    org = _org(cli)
    admin = cli.ok("user", "add", "--org", org, "--email", "a@contoso.example", "--role", "billing_admin")
    before = snapshot(db_url)
    res = cli("user", "password", admin["id"], stdin="short\n", json_output=False)
    assert res.exit_code == 2 and "expected 10 to 200 characters" in one_line_error(res)
    res = cli(
        "user",
        "add",
        "--org",
        org,
        "--email",
        "b@contoso.example",
        "--role",
        "global_admin",
        "--password",
        "short",
        json_output=False,
    )
    assert res.exit_code == 2 and "invalid password" in one_line_error(res)
    assert snapshot(db_url) == before


def test_a_user_who_only_holds_licences_gets_no_password(cli, db_url):
    org = _org(cli)
    user = cli.ok("user", "add", "--org", org, "--email", "u@contoso.example")
    res = cli("user", "password", user["id"], stdin="a long password\n", json_output=False)
    assert res.exit_code == 3 and "not an admin" in one_line_error(res)
    assert _hash_of(db_url, "users", "u@contoso.example") is None


def test_an_operator_is_added_with_a_password_from_stdin_once_per_address(cli, db_url):
    added = cli("operator", "add", "--email", "Ops@Seatwise.example", stdin="operator password\n")
    assert added.exit_code == 0 and added.data["email"] == "ops@seatwise.example"
    assert verify_password(_hash_of(db_url, "operators", "ops@seatwise.example"), "operator password")
    again = cli("operator", "add", "--email", "ops@seatwise.example", stdin="operator password\n", json_output=False)
    assert again.exit_code == 2 and "already in use" in one_line_error(again)
