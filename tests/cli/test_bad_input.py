"""Bad input to the operator CLI: exit 2, one clear line on stderr, no traceback, nothing written (issue 2 §4).

Each case runs twice against the same customer, with and without --json, and every row of
every table (the audit log included) is compared before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.organizations import service as organizations
from seatwise.subscriptions import service as subscriptions
from tests.cli.conftest import one_line_error, snapshot
from tests.conftest import T0
from tests.factories import world


@dataclass
class Ids:
    org: int
    other_org: int
    sub: int
    trial: int
    user: int  # holds a licence of `sub`
    free_user: int
    other_user: int  # a user of the other organisation
    removed_user: int
    global_admin: str
    user_admin: str


@pytest.fixture
def ids(uow) -> Ids:
    """Contoso with an active subscription (one licence assigned) and a trial; Fabrikam with one user."""
    with uow() as s:
        w = world(s, now=T0, users=3)
        other = world(s, now=T0, users=1, name="Fabrikam", sku="OTHER")
        sub = subscriptions.buy(s, org_id=w.org_id, sku="BIZ", seats=5, actor=OPERATOR, now=T0)
        trial = subscriptions.start_trial(s, org_id=w.org_id, sku="OTHER", seats=5, actor=OPERATOR, now=T0)
        licenses.assign(s, sub_id=sub.id, user_id=w.user_ids[0], actor=OPERATOR, now=T0)
        organizations.remove_user(s, user_id=w.user_ids[2], actor=OPERATOR, now=T0)
        return Ids(
            org=w.org_id,
            other_org=other.org_id,
            sub=sub.id,
            trial=trial.id,
            user=w.user_ids[0],
            free_user=w.user_ids[1],
            other_user=other.user_ids[0],
            removed_user=w.user_ids[2],
            global_admin="global_admin@contoso.example",
            user_admin="user_admin@contoso.example",
        )


UNKNOWN = 9999

# (test id, command builder, expected error code). The builder gets the Ids of the fixture.
CASES = [
    # unknown ids
    ("unknown_subscription_show", lambda i: ["subscription", "show", UNKNOWN], "unknown_subscription"),
    (
        "unknown_subscription_cancel",
        lambda i: ["subscription", "cancel", UNKNOWN, "--as", "operator"],
        "unknown_subscription",
    ),
    (
        "unknown_subscription_cancel_preview",
        lambda i: ["subscription", "cancel-preview", UNKNOWN, "--as", i.global_admin],
        "unknown_subscription",
    ),
    (
        "unknown_subscription_licenses_set",
        lambda i: ["licenses", "set", UNKNOWN, "--total", 3, "--as", "operator"],
        "unknown_subscription",
    ),
    (
        "unknown_subscription_assign",
        lambda i: ["license", "assign", UNKNOWN, "--user", i.free_user, "--as", "operator"],
        "unknown_subscription",
    ),
    (
        "unknown_subscription_unassign",
        lambda i: ["license", "unassign", UNKNOWN, "--user", i.user, "--as", "operator"],
        "unknown_subscription",
    ),
    (
        "unknown_subscription_recurring_billing",
        lambda i: ["subscription", "recurring-billing", UNKNOWN, "off", "--as", "operator"],
        "unknown_subscription",
    ),
    (
        "unknown_subscription_reactivate",
        lambda i: ["subscription", "reactivate", UNKNOWN, "--as", "operator"],
        "unknown_subscription",
    ),
    ("unknown_subscription_license_list", lambda i: ["license", "list", UNKNOWN], "unknown_subscription"),
    ("unknown_subscription_audit_list", lambda i: ["audit", "list", "--subscription", UNKNOWN], "unknown_subscription"),
    (
        "other_orgs_subscription_is_unknown_to_its_admin",
        lambda i: ["subscription", "cancel-preview", i.sub, "--as", "global_admin@fabrikam.example"],
        "unknown_subscription",
    ),
    (
        "unknown_org_user_add",
        lambda i: ["user", "add", "--org", UNKNOWN, "--email", "new@contoso.example"],
        "unknown_org",
    ),
    ("unknown_org_trial", lambda i: ["subscription", "trial", "--org", UNKNOWN, "--sku", "BIZ"], "unknown_org"),
    (
        "unknown_org_buy",
        lambda i: ["subscription", "buy", "--org", UNKNOWN, "--sku", "BIZ", "--seats", 1],
        "unknown_org",
    ),
    ("unknown_org_payment_method", lambda i: ["payment-method", "add", "--org", UNKNOWN, "--invoice"], "unknown_org"),
    ("unknown_org_subscription_list", lambda i: ["subscription", "list", "--org", UNKNOWN], "unknown_org"),
    ("unknown_org_user_list", lambda i: ["user", "list", "--org", UNKNOWN], "unknown_org"),
    ("unknown_org_payment_method_list", lambda i: ["payment-method", "list", "--org", UNKNOWN], "unknown_org"),
    ("unknown_org_audit_list", lambda i: ["audit", "list", "--org", UNKNOWN], "unknown_org"),
    ("unknown_user_remove", lambda i: ["user", "remove", UNKNOWN], "unknown_user"),
    ("unknown_user_restore", lambda i: ["user", "restore", UNKNOWN], "unknown_user"),
    (
        "unknown_user_assign",
        lambda i: ["license", "assign", i.sub, "--user", UNKNOWN, "--as", i.user_admin],
        "unknown_user",
    ),
    (
        "user_of_another_org_assign",
        lambda i: ["license", "assign", i.sub, "--user", i.other_user, "--as", "operator"],
        "user_of_another_org",
    ),
    (
        "unknown_as_email",
        lambda i: ["subscription", "cancel", i.sub, "--as", "nobody@contoso.example"],
        "unknown_actor",
    ),
    ("unknown_as_id", lambda i: ["licenses", "set", i.sub, "--total", 6, "--as", UNKNOWN], "unknown_actor"),
    (
        "unknown_as_removed_user",
        lambda i: ["license", "assign", i.sub, "--user", i.free_user, "--as", i.removed_user],
        "unknown_actor",
    ),
    (
        "unknown_as_on_trial",
        lambda i: ["subscription", "trial", "--org", i.org, "--sku", "BIZ", "--as", "root"],
        "unknown_actor",
    ),
    ("unknown_sku_trial", lambda i: ["subscription", "trial", "--org", i.org, "--sku", "NOPE"], "unknown_sku"),
    (
        "unknown_sku_buy",
        lambda i: ["subscription", "buy", "--org", i.org, "--sku", "NOPE", "--seats", 3],
        "unknown_sku",
    ),
    # seats
    (
        "negative_seats_buy",
        lambda i: ["subscription", "buy", "--org", i.org, "--sku", "BIZ", "--seats", -1],
        "invalid_seats",
    ),
    (
        "zero_seats_buy",
        lambda i: ["subscription", "buy", "--org", i.org, "--sku", "BIZ", "--seats", 0],
        "invalid_seats",
    ),
    (
        "zero_seats_trial",
        lambda i: ["subscription", "trial", "--org", i.other_org, "--sku", "BIZ", "--seats", 0],
        "invalid_seats",
    ),
    (
        "negative_seats_trial",
        lambda i: ["subscription", "trial", "--org", i.other_org, "--sku", "BIZ", "--seats", -25],
        "invalid_seats",
    ),
    (
        "zero_total_licenses_set",
        lambda i: ["licenses", "set", i.sub, "--total", 0, "--as", i.global_admin],
        "invalid_seats",
    ),
    (
        "negative_total_licenses_set",
        lambda i: ["licenses", "set", i.sub, "--total", -3, "--as", "operator"],
        "invalid_seats",
    ),
    (
        "zero_max_seats",
        lambda i: ["product", "add", "--sku", "NEW", "--name", "New", "--price", "1.00", "--max-seats", 0],
        "invalid_seats",
    ),
    (
        "negative_trial_days",
        lambda i: ["product", "add", "--sku", "NEW", "--name", "New", "--price", "1.00", "--trial-days", -1],
        "invalid_trial_days",
    ),
    # cards
    (
        "expiry_13_99",
        lambda i: ["payment-method", "add", "--org", i.org, "--card", "4242424242424242", "--exp", "13/99"],
        "invalid_expiry",
    ),
    (
        "expiry_00_30",
        lambda i: ["payment-method", "add", "--org", i.org, "--card", "4242424242424242", "--exp", "00/30"],
        "invalid_expiry",
    ),
    (
        "expiry_without_slash",
        lambda i: ["payment-method", "add", "--org", i.org, "--card", "4242424242424242", "--exp", "1230"],
        "invalid_expiry",
    ),
    (
        "expired_card_last_month",
        lambda i: ["payment-method", "add", "--org", i.org, "--card", "4242424242424242", "--exp", "10/26"],
        "card_expired",
    ),
    (
        "expired_card_2020",
        lambda i: ["payment-method", "add", "--org", i.org, "--card", "4242424242424242", "--exp", "01/20"],
        "card_expired",
    ),
    (
        "bad_card_number_luhn",
        lambda i: ["payment-method", "add", "--org", i.org, "--card", "4242424242424241", "--exp", "12/30"],
        "invalid_card_number",
    ),
    (
        "bad_card_number_letters",
        lambda i: ["payment-method", "add", "--org", i.org, "--card", "4242-abcd", "--exp", "12/30"],
        "invalid_card_number",
    ),
    (
        "card_without_expiry",
        lambda i: ["payment-method", "add", "--org", i.org, "--card", "4242424242424242"],
        "invalid_expiry",
    ),
    (
        "card_and_invoice",
        lambda i: [
            "payment-method",
            "add",
            "--org",
            i.org,
            "--card",
            "4242424242424242",
            "--exp",
            "12/30",
            "--invoice",
        ],
        "invalid_payment_method",
    ),
    ("neither_card_nor_invoice", lambda i: ["payment-method", "add", "--org", i.org], "invalid_payment_method"),
    # currencies, prices, products
    ("unknown_currency_org", lambda i: ["org", "add", "--name", "Acme", "--currency", "XYZ"], "unknown_currency"),
    (
        "unknown_currency_product",
        lambda i: ["product", "add", "--sku", "NEW", "--name", "New", "--price", "1.00", "--currency", "XYZ"],
        "unknown_currency",
    ),
    (
        "price_too_many_decimals",
        lambda i: ["product", "add", "--sku", "NEW", "--name", "New", "--price", "12.505"],
        "invalid_amount",
    ),
    (
        "price_decimals_in_yen",
        lambda i: ["product", "add", "--sku", "NEW", "--name", "New", "--price", "100.5", "--currency", "JPY"],
        "invalid_amount",
    ),
    (
        "price_not_a_number",
        lambda i: ["product", "add", "--sku", "NEW", "--name", "New", "--price", "twelve"],
        "invalid_amount",
    ),
    (
        "price_negative",
        lambda i: ["product", "add", "--sku", "NEW", "--name", "New", "--price", "-1.00"],
        "invalid_amount",
    ),
    ("price_nan", lambda i: ["product", "add", "--sku", "NEW", "--name", "New", "--price", "NaN"], "invalid_amount"),
    (
        "price_too_large",
        lambda i: ["product", "add", "--sku", "NEW", "--name", "New", "--price", "1e30"],
        "invalid_amount",
    ),
    (
        "unknown_period",
        lambda i: ["product", "add", "--sku", "NEW", "--name", "New", "--price", "1.00", "--period", "weekly"],
        "invalid_period",
    ),
    (
        "unknown_policy",
        lambda i: ["product", "add", "--sku", "NEW", "--name", "New", "--price", "1.00", "--policy", "lenient"],
        "invalid_policy",
    ),
    (
        "duplicate_sku",
        lambda i: ["product", "add", "--sku", "BIZ", "--name", "Again", "--price", "1.00"],
        "duplicate_sku",
    ),
    ("empty_sku", lambda i: ["product", "add", "--sku", " ", "--name", "New", "--price", "1.00"], "invalid_sku"),
    # organisations and users
    ("unknown_locale", lambda i: ["org", "add", "--name", "Acme", "--locale", "de"], "invalid_locale"),
    ("empty_org_name", lambda i: ["org", "add", "--name", "  "], "invalid_name"),
    ("duplicate_email", lambda i: ["user", "add", "--org", i.org, "--email", "u1@contoso.example"], "duplicate_email"),
    (
        "duplicate_email_other_case",  # unique within one organisation (another may have it: issue 11)
        lambda i: ["user", "add", "--org", i.org, "--email", "U1@Contoso.Example"],
        "duplicate_email",
    ),
    ("invalid_email", lambda i: ["user", "add", "--org", i.org, "--email", "not-an-address"], "invalid_email"),
    (
        "unknown_role",
        lambda i: ["user", "add", "--org", i.org, "--email", "new@contoso.example", "--role", "root"],
        "invalid_role",
    ),
    # times
    ("malformed_now_month_13", lambda i: ["org", "add", "--name", "Acme", "--now", "2026-13-01"], "invalid_datetime"),
    (
        "malformed_now_yesterday",
        lambda i: ["licenses", "set", i.sub, "--total", 6, "--as", "operator", "--now", "yesterday"],
        "invalid_datetime",
    ),
    ("malformed_now_empty", lambda i: ["org", "add", "--name", "Acme", "--now", ""], "invalid_datetime"),
    # (the trial ends on 1 December: a run that ignored a bad --as-of and ran up to --now would write)
    (
        "malformed_as_of_month_13",
        lambda i: ["billing", "run", "--as-of", "2026-13-01", "--now", "2027-06-01"],
        "invalid_datetime",
    ),
    (
        "malformed_as_of_yesterday",
        lambda i: ["billing", "run", "--as-of", "yesterday", "--now", "2027-06-01"],
        "invalid_datetime",
    ),
    ("malformed_as_of_empty", lambda i: ["billing", "run", "--as-of", "", "--now", "2027-06-01"], "invalid_datetime"),
    # subscription commands
    (
        "recurring_billing_maybe",
        lambda i: ["subscription", "recurring-billing", i.sub, "maybe", "--as", "operator"],
        "invalid_state",
    ),
    (
        "recurring_billing_true",
        lambda i: ["subscription", "recurring-billing", i.sub, "true", "--as", "operator"],
        "invalid_state",
    ),
    (
        "cancel_reason_unknown",
        lambda i: ["subscription", "cancel", i.sub, "--as", i.global_admin, "--reason", "bored"],
        "invalid_reason",
    ),
    (
        "cancel_comment_too_long",
        lambda i: ["subscription", "cancel", i.sub, "--as", i.global_admin, "--comment", "x" * 2001],
        "invalid_comment",
    ),
    # found in review: values that once ended in a traceback or were silently accepted
    ("subscription_id_beyond_64_bits", lambda i: ["subscription", "show", 2**63], "invalid_number"),
    ("org_id_beyond_64_bits", lambda i: ["user", "list", "--org", 2**64], "invalid_number"),
    (
        "now_in_year_9999",
        lambda i: ["subscription", "trial", "--org", i.other_org, "--sku", "BIZ", "--now", "9999-12-20"],
        "invalid_datetime",
    ),
    (
        "now_in_year_1",
        lambda i: ["org", "add", "--name", "Acme", "--now", "0001-01-01T00:00+01:00"],
        "invalid_datetime",
    ),
    (
        "as_of_after_now",
        lambda i: ["billing", "run", "--as-of", "2027-06-01", "--now", "2027-01-01"],
        "as_of_in_future",
    ),
    ("currency_that_is_not_money", lambda i: ["org", "add", "--name", "Acme", "--currency", "XXX"], "unknown_currency"),
    (
        "currency_gold",
        lambda i: ["product", "add", "--sku", "NEW", "--name", "New", "--price", "1", "--currency", "XAU"],
        "unknown_currency",
    ),
    (
        "invoice_with_card_expiry",
        lambda i: ["payment-method", "add", "--org", i.org, "--invoice", "--exp", "13/99"],
        "invalid_payment_method",
    ),
    (
        "time_before_the_last_change",
        lambda i: ["licenses", "set", i.sub, "--total", 6, "--as", "operator", "--now", "2020-01-01"],
        "clock_before_last_change",
    ),
    # the database URL itself
    ("database_url_unsupported", lambda i: ["org", "list", "--db", "mysql://localhost/x"], "invalid_database_url"),
]


@pytest.mark.parametrize("build,code", [pytest.param(b, c, id=n) for n, b, c in CASES])
def test_bad_input_exit_2_one_line_writes_nothing(cli, ids, build, code):
    before = snapshot(cli.url)

    res = cli(*build(ids), json_output=True)
    assert res.exit_code == 2, res
    one_line_error(res)
    assert res.data["error"]["code"] == code, res
    assert res.data["error"]["message"] and f"error: {res.data['error']['message']}" == res.stderr.strip()

    res = cli(*build(ids), json_output=False)
    assert res.exit_code == 2, res
    one_line_error(res)
    assert res.stdout == "", res

    assert snapshot(cli.url) == before


# Usage errors that Typer itself finds (wrong type, missing or unknown option) are bad input too.
USAGE_CASES = [
    ("subscription_id_not_a_number", lambda i: ["subscription", "show", "abc"]),
    ("seats_not_a_number", lambda i: ["subscription", "buy", "--org", i.org, "--sku", "BIZ", "--seats", "many"]),
    ("org_id_not_a_number", lambda i: ["user", "add", "--org", "contoso", "--email", "new@contoso.example"]),
    ("missing_as", lambda i: ["subscription", "cancel", i.sub]),
    ("missing_seats_on_buy", lambda i: ["subscription", "buy", "--org", i.org, "--sku", "BIZ"]),
    ("missing_state_on_recurring_billing", lambda i: ["subscription", "recurring-billing", i.sub, "--as", "operator"]),
    ("unknown_option", lambda i: ["org", "add", "--name", "Acme", "--colour", "blue"]),
    ("unknown_command", lambda i: ["subscription", "destroy", i.sub]),
]


@pytest.mark.parametrize("build", [pytest.param(b, id=n) for n, b in USAGE_CASES])
def test_bad_input_usage_error_exit_2_one_line_writes_nothing(cli, ids, build):
    before = snapshot(cli.url)
    res = cli(*build(ids), json_output=False)
    assert res.exit_code == 2, res
    line = one_line_error(res)
    assert "╭" not in line and "Usage:" not in res.stderr, res
    assert res.stdout == "", res
    res = cli(*build(ids), json_output=True)
    assert res.exit_code == 2, res
    one_line_error(res)
    assert res.data["error"]["code"] == "usage", res
    assert snapshot(cli.url) == before


def test_bad_input_unknown_currency_exit_2_writes_nothing(cli, ids):
    before = snapshot(cli.url)
    res = cli("org", "add", "--name", "Acme", "--currency", "XYZ", json_output=False)
    assert (res.exit_code, res.stdout) == (2, ""), res
    assert one_line_error(res) == ("error: unknown currency 'XYZ': expected an ISO 4217 code such as EUR, USD or JPY")
    assert snapshot(cli.url) == before
    # The same command with a known currency does write: the snapshot would see it.
    assert cli.ok("org", "add", "--name", "Acme", "--currency", "USD")["currency"] == "USD"
    assert snapshot(cli.url) != before


# Values the schema cannot hold: the services refuse them on both databases (SQLite alone would
# store them), before anything is written.
TOO_BIG = [
    ("org_name_201_characters", lambda i: ["org", "add", "--name", "x" * 201], "invalid_name"),
    (
        "user_name_201_characters",
        lambda i: ["user", "add", "--org", i.org, "--email", "new@contoso.example", "--name", "x" * 201],
        "invalid_name",
    ),
    (
        "product_name_201_characters",
        lambda i: ["product", "add", "--sku", "NEW", "--name", "x" * 201, "--price", "1"],
        "invalid_name",
    ),
    (
        "licence_total_3_billion",
        lambda i: ["licenses", "set", i.sub, "--total", 3_000_000_000, "--as", "operator"],
        "invalid_seats",
    ),
    (
        "buy_3_billion_seats",
        lambda i: ["subscription", "buy", "--org", i.org, "--sku", "BIZ", "--seats", 3_000_000_000],
        "invalid_seats",
    ),
]


@pytest.mark.parametrize("build,code", [pytest.param(b, c, id=n) for n, b, c in TOO_BIG])
def test_bad_input_value_beyond_the_schema_exit_2_writes_nothing(cli, ids, build, code):
    before = snapshot(cli.url)
    res = cli(*build(ids))
    assert res.exit_code == 2, res
    one_line_error(res)
    assert res.data["error"]["code"] == code, res
    assert snapshot(cli.url) == before


def test_r9_other_org_admin_and_plain_user_are_refused_exit_3_writes_nothing(cli, ids):
    before = snapshot(cli.url)
    res = cli("subscription", "buy", "--org", ids.org, "--sku", "BIZ", "--seats", 1, "--as", "u1@contoso.example")
    assert res.exit_code == 3 and res.data["error"]["code"] == "not_authorized", res
    one_line_error(res)
    res = cli("subscription", "trial", "--org", ids.org, "--sku", "BIZ", "--as", "user_admin@fabrikam.example")
    assert res.exit_code == 3 and res.data["error"]["code"] == "not_authorized", res
    assert snapshot(cli.url) == before


@pytest.mark.parametrize(
    "args,code",
    [
        pytest.param(
            lambda i: ["subscription", "trial", "--org", i.org, "--sku", "OTHER"],
            "trial_already_used",
            id="second_trial",
        ),
        pytest.param(
            lambda i: [
                "subscription",
                "buy",
                "--org",
                i.org,
                "--sku",
                "BIZ",
                "--seats",
                1,
                "--as",
                "user_admin@contoso.example",
            ],
            "not_authorized",
            id="user_admin_buys",
        ),
        pytest.param(
            lambda i: ["subscription", "cancel", i.trial, "--as", i.global_admin],
            "trial_nothing_to_cancel",
            id="trial_cancel",
        ),
        pytest.param(
            lambda i: ["licenses", "set", i.trial, "--total", 9, "--as", i.global_admin],
            "trial_seats_fixed",
            id="trial_seats",
        ),
        pytest.param(
            lambda i: ["license", "assign", i.sub, "--user", i.removed_user, "--as", i.user_admin],
            "user_removed",
            id="assign_removed_user",
        ),
    ],
)
def test_refused_by_a_rule_exit_3_writes_nothing(cli, ids, args, code):
    before = snapshot(cli.url)
    res = cli(*args(ids))
    assert res.exit_code == 3, res
    one_line_error(res)
    data = res.data
    assert (data["code"] if "code" in data else data["error"]["code"]) == code, res
    assert snapshot(cli.url) == before


def test_refused_buy_without_payment_method_and_currency_mismatch_exit_3(cli, ids):
    org = cli.ok("org", "add", "--name", "Cardless")["id"]
    res = cli("subscription", "buy", "--org", org, "--sku", "BIZ", "--seats", 1)
    assert res.exit_code == 3 and res.data["error"]["code"] == "payment_method_required", res
    usd = cli.ok("org", "add", "--name", "Dollars", "--currency", "USD")["id"]
    res = cli("subscription", "trial", "--org", usd, "--sku", "BIZ")
    assert res.exit_code == 3 and res.data["error"]["code"] == "currency_mismatch", res
    assert cli.ok("subscription", "list", "--org", org) == [] and cli.ok("subscription", "list", "--org", usd) == []
