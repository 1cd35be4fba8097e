"""Payments and dunning (R21), with the reactivation that paying brings (R6) and the books (R18).

Every expected amount and date is worked out by hand; the arithmetic is in the comments. The
`world` product costs €12.50 = 1250 cents per licence per month. T0 is 1 November 2026, 09:30 UTC:
a purchase then is invoiced by the run at midnight on 2 November; cards are charged on issue, so a
card invoice is due the day it is issued.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from seatwise.billing import ledger
from seatwise.billing import service as billing
from seatwise.billing.models import Charge, Invoice, LedgerEntry
from seatwise.core.errors import Refused
from seatwise.core.roles import OPERATOR
from seatwise.payments.models import Payment
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import add_method, run_billing, world

DECLINED, NO_FUNDS, GOOD = "4000000000000002", "4000000000009995", "4242424242424242"


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


NOV_2, DEC_1, DEC_2, JAN_1 = at(2026, 11, 2), at(2026, 12, 1), at(2026, 12, 2), at(2027, 1, 1)


def _org(s, *, card: str | None = GOOD, invoice: bool = False, **kw):
    """An organisation paying with one test card, or by invoice."""
    w = world(s, now=T0, users=0, card=False, **kw)
    add_method(
        s,
        org_id=w.org_id,
        card_number=None if invoice else card,
        expiry=None if invoice else "12/30",
        invoice=invoice,
        actor=OPERATOR,
        now=T0,
    )
    return w


def _buy(uow, *, seats: int = 10, **kw):
    with uow() as s:
        w = _org(s, **kw)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=seats, actor=w.billing_admin, now=T0)
    return w, sub.id


def _run(uow, as_of: datetime) -> None:
    run_billing(uow, as_of=as_of)


def _payments(s, invoice_id: int) -> list[tuple]:
    return [
        (p.kind, p.amount, p.status, p.failure_code, p.at)
        for p in s.scalars(select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.id))
    ]


def _ledger(s, invoice_id: int) -> list[tuple]:
    return [
        (e.kind, e.amount, e.at)
        for e in s.scalars(select(LedgerEntry).where(LedgerEntry.invoice_id == invoice_id).order_by(LedgerEntry.id))
    ]


def _state(sub) -> tuple:
    return (sub.status, sub.status_reason, sub.state_until)


# --- cards --------------------------------------------------------------------------------------


def test_r21_card_4242_pays_on_issue(uow):
    w, _ = _buy(uow)
    _run(uow, NOV_2)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        # 10 × 1250 = 12500, collected when issued at midnight on 2 November
        assert (
            invoice.amount_due,
            invoice.status,
            invoice.issued_at,
            invoice.due_at,
            invoice.paid_at,
            invoice.attempts,
            invoice.next_action_at,
        ) == (12500, "paid", NOV_2, NOV_2, NOV_2, 1, None)
        assert _payments(s, invoice.id) == [("payment", 12500, "succeeded", None, NOV_2)]
        assert _ledger(s, invoice.id) == [("charge", 12500, NOV_2), ("payment", -12500, NOV_2)]
        assert ledger.check_ledger(s) == []


@pytest.mark.parametrize("card, code", [(DECLINED, "declined"), (NO_FUNDS, "insufficient_funds")])
def test_r21_a_failed_card_payment_is_retried_on_days_3_5_and_7_after_issue(uow, card, code):
    w, sub_id = _buy(uow, card=card)
    _run(uow, NOV_2)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        assert (invoice.status, invoice.attempts, invoice.next_action_at) == ("open", 1, at(2026, 11, 5))
        assert _payments(s, invoice.id) == [("payment", 12500, "failed", code, NOV_2)]
    _run(uow, at(2026, 11, 30))
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        # issued 2 Nov: retried 2 + 3 = 5 Nov, 2 + 5 = 7 Nov, 2 + 7 = 9 Nov, then no more; what is next is
        # disabling, 30 days past the due date (the issue date for a card): 2 Nov + 30 = 2 Dec
        assert [(p[2], p[3], p[4]) for p in _payments(s, invoice.id)] == [
            ("failed", code, NOV_2),
            ("failed", code, at(2026, 11, 5)),
            ("failed", code, at(2026, 11, 7)),
            ("failed", code, at(2026, 11, 9)),
        ]
        assert (invoice.status, invoice.attempts, invoice.next_action_at) == ("open", 4, DEC_2)
        assert _ledger(s, invoice.id) == [("charge", 12500, NOV_2)]  # a failed attempt moves no money
        assert ledger.check_ledger(s) == []  # the ledger owes 12500, the open invoice asks for 12500
        assert subscriptions.get(s, sub_id=sub_id).status == "active"


def test_r21_an_invoice_unpaid_30_days_past_due_disables_its_subscription(uow):
    _w, sub_id = _buy(uow, card=DECLINED)
    _run(uow, DEC_2 - timedelta(seconds=1))
    with uow() as s:
        # it renewed on 1 December (a second invoice, also declined), still active
        assert _state(subscriptions.get(s, sub_id=sub_id)) == ("active", None, None)
    _run(uow, DEC_2)
    with uow() as s:
        # due 2 Nov + 30 days = 2 Dec: disabled for non-payment, deleted 90 days later, 2 Dec + 90 = 2 Mar
        assert _state(subscriptions.get(s, sub_id=sub_id)) == ("disabled", "non_payment", at(2027, 3, 2))
        assert ledger.check_ledger(s) == []


def test_r21_paying_during_the_retries_stops_them_and_nothing_is_disabled(uow):
    w, sub_id = _buy(uow, card=DECLINED)
    _run(uow, at(2026, 11, 6))  # failed on 2 and 5 November
    with uow() as s:
        first = billing.list_invoices(s, org_id=w.org_id)[0]
        billing.pay_invoice(s, invoice_id=first.id, actor=w.billing_admin, now=at(2026, 11, 6, 15))
    _run(uow, DEC_2)
    with uow() as s:
        first = s.get(Invoice, first.id)
        assert (first.status, first.paid_at, first.next_action_at) == ("paid", at(2026, 11, 6, 15), None)
        assert [p[2] for p in _payments(s, first.id)] == ["failed", "failed", "succeeded"]
        assert _ledger(s, first.id) == [("charge", 12500, NOV_2), ("payment", -12500, at(2026, 11, 6, 15))]
        assert subscriptions.get(s, sub_id=sub_id).status == "active"
        assert ledger.check_ledger(s) == []


def test_r21_r6_paying_the_overdue_invoice_reactivates_the_subscription_keeping_its_billing_date(uow):
    w, sub_id = _buy(uow, card=DECLINED)
    _run(uow, at(2027, 1, 10))  # disabled 2 Dec; no renewal on 1 Jan while disabled
    paid_at = at(2027, 1, 10, 12)
    with uow() as s:
        first = billing.list_invoices(s, org_id=w.org_id)[0]
        assert (first.number, first.status) == ("SW-2026-000001", "open")
        invoice = billing.pay_invoice(s, invoice_id=first.id, actor=w.billing_admin, now=paid_at)
        assert (invoice.status, invoice.paid_at, invoice.next_action_at) == ("paid", paid_at, None)
        # December's renewal invoice is overdue too (disable date 31 Dec): still disabled until it is paid
        assert subscriptions.get(s, sub_id=sub_id).status == "disabled"
        second = billing.list_invoices(s, org_id=w.org_id)[1]
        billing.pay_invoice(s, invoice_id=second.id, actor=w.billing_admin, now=paid_at)
    with uow() as s:
        assert _payments(s, first.id)[-1] == ("payment", 12500, "succeeded", None, paid_at)
        assert _ledger(s, first.id) == [("charge", 12500, NOV_2), ("payment", -12500, paid_at)]
        sub = subscriptions.get(s, sub_id=sub_id)
        # R6: back to active on its old billing date (the 1st): the current period is 1–31 January
        assert (_state(sub), sub.anchor, sub.current_period_start, sub.current_period_end, sub.next_event_at) == (
            ("active", None, None),
            at(2026, 11, 1),
            JAN_1,
            at(2027, 2, 1),
            at(2027, 2, 1),
        )
        # the days left, 10 to 31 January = 22 of 31: 12500 × 22/31 = 275000/31 = 8870.97 → 8871,
        # invoiced at the next midnight
        [line] = s.scalars(select(Charge).where(Charge.org_id == w.org_id, Charge.invoice_id.is_(None))).all()
        assert (line.kind, line.description, line.amount, line.period_start, line.period_end, line.bill_on) == (
            "reactivation",
            "Reactivation, 10 licences × 22/31 days, 10–31 Jan 2027",
            8871,
            at(2027, 1, 10),
            at(2027, 2, 1),
            at(2027, 1, 11),
        )
        assert ledger.check_ledger(s) == []


def test_r21_paying_an_invoice_that_is_already_paid_is_refused(uow):
    w, _ = _buy(uow)
    _run(uow, NOV_2)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        with pytest.raises(Refused) as refused:
            billing.pay_invoice(s, invoice_id=invoice.id, actor=w.billing_admin, now=at(2026, 11, 3))
        assert refused.value.code == "already_paid"
    with uow() as s:
        assert len(_payments(s, invoice.id)) == 1
        assert ledger.check_ledger(s) == []


# --- pay by invoice -----------------------------------------------------------------------------


def test_r21_the_invoice_method_is_due_net_30_and_disables_30_days_after_that(uow):
    w, sub_id = _buy(uow, invoice=True)
    _run(uow, NOV_2)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        # issued 2 Nov, due 2 Nov + 30 = 2 Dec; nothing is collected; disabled 2 Dec + 30 = 1 Jan if unpaid
        assert (invoice.status, invoice.due_at, invoice.attempts, invoice.next_action_at) == ("open", DEC_2, 0, JAN_1)
        assert _payments(s, invoice.id) == []
    _run(uow, JAN_1 - timedelta(seconds=1))
    with uow() as s:
        assert subscriptions.get(s, sub_id=sub_id).status == "active"
    _run(uow, JAN_1)
    with uow() as s:
        # disabled 1 Jan, deleted 90 days later: 1 Jan + 31 + 28 + 31 days = 1 Apr
        assert _state(subscriptions.get(s, sub_id=sub_id)) == ("disabled", "non_payment", at(2027, 4, 1))
        assert ledger.check_ledger(s) == []


# --- bugs found ---------------------------------------------------------------------------------


def _overlapping_full_charges(s, sub_id: int) -> list[tuple]:
    """Pairs of lines of a subscription that both charge all its seats for the same day."""
    lines = s.scalars(
        select(Charge)
        .where(Charge.subscription_id == sub_id, Charge.kind.in_(("period", "reactivation")))
        .order_by(Charge.id)
    ).all()
    return [
        (a.kind, a.period_start.date(), b.kind, b.period_start.date(), b.period_end.date())
        for i, a in enumerate(lines)
        for b in lines[i + 1 :]
        if a.period_start < b.period_end and b.period_start < a.period_end
    ]


@pytest.mark.parametrize("period, price", [("monthly", "12.50"), ("annual", "150.00")])
def test_r6_r15_r21_reactivation_after_payment_does_not_charge_days_already_invoiced(uow, period, price):
    # monthly: invoice 1 bills November, invoice 2 (1 Dec) bills all of December; disabled 2 Dec; paying
    # invoice 1 on 10 Dec adds a reactivation line for 10–31 Dec, which invoice 2 already bills.
    # annual: invoice 1 bills 1 Nov 2026 – 31 Oct 2027; disabled 2 Dec; paying it on 10 Dec adds a line
    # for 10 Dec 2026 – 31 Oct 2027 (150.00 × 326/365 = 107.18) on top of the year just paid for.
    w, sub_id = _buy(uow, card=DECLINED, period=period, price=price, seats=1)
    _run(uow, at(2026, 12, 10))
    with uow() as s:
        assert subscriptions.get(s, sub_id=sub_id).status_reason == "non_payment"
        first = billing.list_invoices(s, org_id=w.org_id)[0]
        billing.pay_invoice(s, invoice_id=first.id, actor=w.billing_admin, now=at(2026, 12, 10, 12))
    with uow() as s:
        assert subscriptions.get(s, sub_id=sub_id).status == "active"
        assert _overlapping_full_charges(s, sub_id) == []


def test_r21_no_active_subscription_has_an_invoice_unpaid_30_days_past_due(uow):
    w, _sub_id = _buy(uow, card=DECLINED)
    _run(uow, at(2027, 1, 10))  # invoices of 2 Nov and 1 Dec both unpaid; disabled since 2 Dec
    with uow() as s:
        first = billing.list_invoices(s, org_id=w.org_id)[0]
        billing.pay_invoice(s, invoice_id=first.id, actor=w.billing_admin, now=at(2027, 1, 10, 12))
    _run(uow, at(2027, 1, 12))
    with uow() as s:
        # the 1 December invoice (12500) was due 1 Dec; 1 Dec + 30 = 31 Dec is long past on 12 Jan
        overdue = s.scalars(
            select(Invoice).where(
                Invoice.org_id == w.org_id,
                Invoice.status == "open",
                Invoice.due_at <= at(2027, 1, 12) - timedelta(days=30),
            )
        ).all()
        assert [i.number for i in overdue] == ["SW-2026-000002"]
        assert [sub.status for sub in subscriptions.billed_by(s, invoice_id=overdue[0].id)] != ["active"]


def test_r16_r21_a_refund_never_exceeds_what_the_organisation_paid(uow):
    w, sub_id = _buy(uow, card=DECLINED)
    _run(uow, NOV_2)  # 12500 declined
    with uow() as s:
        # cancelled on day 3: credit 12500 × 27/30 = 11250
        subscriptions.cancel(s, sub_id=sub_id, actor=w.billing_admin, now=at(2026, 11, 3, 10))
    _run(uow, DEC_1)
    with uow() as s:

        def paid(kind):
            return int(
                s.scalar(
                    select(func.coalesce(func.sum(Payment.amount), 0)).where(
                        Payment.org_id == w.org_id, Payment.kind == kind, Payment.status == "succeeded"
                    )
                )
            )

        # nothing was ever collected (0), yet 11250 went back to the declined card while the
        # 12500 invoice stays open
        assert paid("refund") <= paid("payment")


def test_r21_a_retry_uses_the_card_on_file_when_it_is_retried(uow):
    w, _sub_id = _buy(uow, card=DECLINED)
    _run(uow, NOV_2)
    with uow() as s:
        add_method(
            s,
            org_id=w.org_id,
            card_number=GOOD,
            expiry="12/30",
            invoice=False,
            actor=w.billing_admin,
            now=at(2026, 11, 3, 9),
        )
    _run(uow, at(2026, 11, 5))  # the first retry, 2 + 3 = 5 November
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        assert invoice.status == "paid"
