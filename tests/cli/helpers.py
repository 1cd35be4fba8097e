"""Building a customer through the CLI, and the documented shapes of its JSON output."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.cli.conftest import DECISION_FIELDS, EUR, ISO_UTC, SUBSCRIPTION_FIELDS, Cli, one_line_error

T0 = "2026-11-01T09:30:00Z"  # Sunday; November has 30 days, December 31


# --- shapes of the JSON documents ----------------------------------------------------------


def assert_subscription_shape(sub: dict) -> None:
    """Issue 2 §4: the documented fields, money as a decimal string, times ISO-8601 UTC."""
    assert SUBSCRIPTION_FIELDS <= set(sub), sorted(SUBSCRIPTION_FIELDS - set(sub))
    assert isinstance(sub["id"], int) and isinstance(sub["org_id"], int)
    assert isinstance(sub["seats"], int) and isinstance(sub["assigned"], int)
    assert isinstance(sub["recurring_billing"], bool)
    assert sub["status"] in {"trial", "active", "expired", "disabled", "deleted"}
    assert isinstance(sub["unit_price"], str) and EUR.match(sub["unit_price"]), sub["unit_price"]
    assert sub["currency"] == "EUR"
    for key in ("current_period_start", "current_period_end"):
        assert ISO_UTC.match(sub[key]), (key, sub[key])
    for key in ("trial_end", "state_until"):
        assert sub[key] is None or ISO_UTC.match(sub[key]), (key, sub[key])


def assert_decision_shape(decision: dict) -> None:
    """Issue 2 §4: allowed, code, message, remedy {action, count}, credit {amount, currency}, dates."""
    assert DECISION_FIELDS <= set(decision), sorted(DECISION_FIELDS - set(decision))
    assert isinstance(decision["allowed"], bool)
    assert decision["code"] in {
        "allowed",
        "trial_nothing_to_cancel",
        "too_many_assigned_licenses",
        "outside_cancellation_window",
        "not_active",
        "not_authorized",
    }
    assert isinstance(decision["message"], str) and decision["message"].strip()
    assert set(decision["remedy"]) >= {"action", "count"}
    assert set(decision["credit"]) >= {"amount", "currency"}
    assert EUR.match(decision["credit"]["amount"]) and decision["credit"]["currency"] == "EUR"
    assert isinstance(decision["dates"], dict)
    for key, value in decision["dates"].items():
        assert value is None or ISO_UTC.match(value), (key, value)


# --- a customer built through the CLI ------------------------------------------------------


@dataclass
class Customer:
    org_id: int
    global_admin: str
    billing_admin: str
    user_admin: str
    user_ids: list[int] = field(default_factory=list)
    admin_ids: dict[str, int] = field(default_factory=dict)


def add_customer(
    cli: Cli, *, name: str = "Contoso", locale: str = "en", users: int = 0, card: bool = False, now: str = T0
) -> Customer:
    org = cli.ok("org", "add", "--name", name, "--locale", locale, now=now)
    assert org["name"] == name and org["locale"] == locale and org["currency"] == "EUR"
    domain = f"{name.lower()}.example"
    customer = Customer(org["id"], f"admin@{domain}", f"billing@{domain}", f"people@{domain}")
    for role, email in (
        ("global_admin", customer.global_admin),
        ("billing_admin", customer.billing_admin),
        ("user_admin", customer.user_admin),
    ):
        user = cli.ok("user", "add", "--org", org["id"], "--email", email, "--role", role, now=now)
        assert user["role"] == role and user["org_id"] == org["id"] and user["status"] == "active"
        customer.admin_ids[role] = user["id"]
    for n in range(users):
        user = cli.ok("user", "add", "--org", org["id"], "--email", f"u{n}@{domain}", "--name", f"User {n}", now=now)
        assert user["role"] == "user" and user["name"] == f"User {n}"
        customer.user_ids.append(user["id"])
    if card:
        method = cli.ok(
            "payment-method", "add", "--org", org["id"], "--card", "4242 4242 4242 4242", "--exp", "12/30", now=now
        )
        assert method["kind"] == "card" and method["last4"] == "4242" and method["brand"] == "visa"
    return customer


def add_product(
    cli: Cli,
    *,
    sku: str = "BIZ",
    price: str = "12.50",
    policy: str = "standard",
    max_seats: int | None = None,
    trial_days: int = 30,
) -> dict:
    args = [
        "product",
        "add",
        "--sku",
        sku,
        "--name",
        f"{sku} product",
        "--price",
        price,
        "--currency",
        "EUR",
        "--period",
        "monthly",
        "--trial-days",
        trial_days,
        "--policy",
        policy,
    ]
    if max_seats is not None:
        args += ["--max-seats", max_seats]
    product = cli.ok(*args, now=T0)
    assert product["sku"] == sku and product["price"] == price and product["policy"] == policy
    return product


def assign(cli: Cli, sub_id: int, user_ids: list[int], *, by: str, now: str) -> None:
    for user_id in user_ids:
        out = cli.ok("license", "assign", sub_id, "--user", user_id, "--as", by, now=now)
        assert out["subscription_id"] == sub_id and out["user_id"] == user_id


def unassign(cli: Cli, sub_id: int, user_ids: list[int], *, by: str, now: str) -> None:
    for user_id in user_ids:
        out = cli.ok("license", "unassign", sub_id, "--user", user_id, "--as", by, now=now)
        assert out["user_id"] == user_id


def show(cli: Cli, sub_id: int, *, now: str = T0) -> dict:
    sub = cli.ok("subscription", "show", sub_id, now=now)
    assert_subscription_shape(sub)
    return sub


def run_billing(cli: Cli, as_of: str) -> dict:
    summary = cli.ok("billing", "run", "--as-of", as_of, now=as_of)
    assert set(summary["transitions"]) == {"converted", "renewed", "expired", "disabled", "deleted"}
    return summary["transitions"]


def refused(cli: Cli, *args, now: str) -> dict:
    """A command refused by a rule: exit 3, the decision (or error) as JSON on stdout, one line on stderr."""
    res = cli(*args, now=now)
    assert res.exit_code == 3, res
    one_line_error(res)
    return res.data
