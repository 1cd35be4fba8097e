"""The money commands of the CLI: billing run, invoice list/show/pay, ledger show/check (R16–R21)."""

from __future__ import annotations

from sqlalchemy import text

from seatwise import db
from tests.cli.conftest import one_line_error, snapshot
from tests.cli.helpers import add_customer, add_product

NOV_1, NOV_3, DEC_1 = "2026-11-01T09:30:00+00:00", "2026-11-03T10:00:00+00:00", "2026-12-01T00:00:00+00:00"


def _cancelled_customer(cli):
    """10 × €12.50 bought on 1 November (invoiced 2 November), cancelled on day 3, run to 1 December."""
    add_product(cli)
    customer = add_customer(cli, card=True, now=NOV_1)
    sub = cli.ok("subscription", "buy", "--org", customer.org_id, "--sku", "BIZ", "--seats", 10, now=NOV_1)
    cli.ok("subscription", "cancel", sub["id"], "--as", customer.billing_admin, now=NOV_3)
    summary = cli.ok("billing", "run", now=DEC_1)
    return customer, summary


def test_r16_r17_billing_run_invoices_and_returns_the_credit_in_the_next_cycle(cli):
    customer, summary = _cancelled_customer(cli)
    # 2 Nov: the month in advance, 10 × 12.50 = 125.00; 1 Dec: the credit of 27/30 × 125.00 = 112.50, refunded
    assert (summary["invoices"], summary["invoiced"], summary["payments"]) == (2, {"EUR": "125.00"}, {"succeeded": 1})
    assert summary["seconds"] >= 0
    invoices = cli.ok("invoice", "list", "--org", customer.org_id, now=DEC_1)
    assert [
        (i["number"], i["total"], i["credit_applied"], i["amount_due"], i["refunded"], i["status"]) for i in invoices
    ] == [
        ("SW-2026-000001", "125.00", "0.00", "125.00", "0.00", "paid"),
        ("SW-2026-000002", "0.00", "0.00", "0.00", "112.50", "paid"),
    ]
    credit = cli.ok("invoice", "show", invoices[1]["id"], now=DEC_1)
    [line] = credit["lines"]
    assert (line["description"], line["amount"], line["quantity"]) == (
        "Credit: cancellation, 10 licences × 27/30 days, 4–30 Nov 2026",
        "-112.50",
        10,
    )
    assert {
        "id",
        "number",
        "org_id",
        "issued_at",
        "due_at",
        "status",
        "currency",
        "lines",
        "total",
        "credit_applied",
        "amount_due",
    } <= set(credit)
    ledger = cli.ok("ledger", "show", "--org", customer.org_id, now=DEC_1)
    assert [(e["kind"], e["amount"]) for e in ledger] == [
        ("charge", "125.00"),
        ("payment", "-125.00"),
        ("credit", "-112.50"),
        ("refund", "112.50"),
    ]
    assert cli.ok("ledger", "check", now=DEC_1) == {"balanced": True}
    res = cli("invoice", "show", invoices[0]["id"], json_output=False, now=DEC_1)
    assert res.exit_code == 0 and "SW-2026-000001" in res.stdout and "125.00" in res.stdout


def test_r20_a_second_billing_run_finds_nothing_to_do(cli):
    _cancelled_customer(cli)
    again = cli.ok("billing", "run", now=DEC_1)
    assert (again["subscriptions"], again["invoices"], sum(again["transitions"].values())) == (0, 0, 0)


def test_r21_invoice_pay_records_a_transfer_and_refuses_a_second_time(cli):
    add_product(cli)
    customer = add_customer(cli, now=NOV_1)
    cli.ok("payment-method", "add", "--org", customer.org_id, "--invoice", now=NOV_1)
    cli.ok("subscription", "buy", "--org", customer.org_id, "--sku", "BIZ", "--seats", 2, now=NOV_1)
    cli.ok("billing", "run", now="2026-11-05")
    [invoice] = cli.ok("invoice", "list", "--org", customer.org_id, now="2026-11-05")
    assert (invoice["status"], invoice["due_at"]) == ("open", "2026-12-02T00:00:00Z")  # net 30 from 2 November
    paid = cli.ok("invoice", "pay", invoice["id"], now="2026-11-20")
    assert (paid["status"], paid["paid_at"]) == ("paid", "2026-11-20T00:00:00Z")
    before = snapshot(cli.url)
    again = cli("invoice", "pay", invoice["id"], now="2026-11-21")
    assert (again.exit_code, again.data["error"]["code"]) == (3, "already_paid")
    one_line_error(again)
    assert snapshot(cli.url) == before


def test_r18_ledger_check_exits_1_and_names_what_does_not_balance(cli):
    customer, _ = _cancelled_customer(cli)
    with db.engine_for(cli.url).begin() as conn:
        conn.execute(text("UPDATE ledger SET amount = amount - 1 WHERE kind = 'payment'"))
    res = cli("ledger", "check", now=DEC_1)
    assert res.exit_code == 1
    assert res.data["error"]["code"] == "ledger_imbalance"
    assert f"organisation {customer.org_id} ledger balance vs open invoices: expected 0, found -1" in res.stderr


def test_bad_input_to_the_money_commands_exit_2_and_write_nothing(cli):
    _customer, _ = _cancelled_customer(cli)
    before = snapshot(cli.url)
    for args, code in [
        (("invoice", "show", 999), "unknown_invoice"),
        (("invoice", "pay", 999), "unknown_invoice"),
        (("invoice", "list", "--org", 999), "unknown_org"),
        (("ledger", "show", "--org", 999), "unknown_org"),
        (("invoice", "pay", 1, "--as", "nobody@example.com"), "unknown_actor"),
        (("billing", "run", "--as-of", "2026-12-32"), "invalid_datetime"),
    ]:
        res = cli(*args, now=DEC_1)
        assert (res.exit_code, res.data["error"]["code"]) == (2, code), res
        one_line_error(res)
    assert snapshot(cli.url) == before
