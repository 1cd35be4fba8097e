"""`seatwise apikey`: a key printed once, listed without it, revoked; bad input writes nothing."""

from __future__ import annotations

from tests.cli.conftest import one_line_error, snapshot


def test_an_apikey_is_printed_once_listed_without_it_and_revoked(cli):
    org = cli.ok("org", "add", "--name", "Contoso", "--currency", "EUR", "--locale", "en")["id"]
    admin = cli.ok("user", "add", "--org", org, "--email", "a@contoso.example", "--role", "billing_admin")["id"]
    made = cli.ok("apikey", "create", "--org", org, "--as", admin)
    assert made["key"].startswith(made["prefix"]) and made["operator"] is False and made["acts_as_user_id"] == admin
    [listed] = cli.ok("apikey", "list")
    assert "key" not in listed and listed["id"] == made["id"] and listed["revoked_at"] is None
    assert cli.ok("apikey", "revoke", made["id"])["revoked_at"] is not None


def test_bad_apikey_commands_say_what_is_expected_and_write_nothing(cli, db_url):
    org = cli.ok("org", "add", "--name", "Contoso", "--currency", "EUR", "--locale", "en")["id"]
    before = snapshot(db_url)
    for args, code in (
        (["apikey", "create"], 2),
        (["apikey", "create", "--operator", "--org", org], 2),
        (["apikey", "create", "--org", org], 2),
        (["apikey", "create", "--org", org, "--as", 99], 2),
        (["apikey", "revoke", 99], 2),
        (["apikey", "revoke", "abc"], 2),
    ):
        res = cli(*args, json_output=False)
        assert res.exit_code == code, res
        one_line_error(res)
    assert snapshot(db_url) == before
