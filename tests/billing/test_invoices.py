"""Invoices, lines, credits, the ledger and the billing run's idempotence (R3, R12, R14–R20).

Every expected amount and date below is worked out by hand from DESIGN.md; the arithmetic is
in the comments. Prices: the `world` product costs €12.50 = 1250 cents per licence per month.
T0 is Sunday 1 November 2026, 09:30 UTC; November has 30 days, December and January 31.
A purchase's first period is invoiced by the billing run at the next midnight after it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from seatwise import db
from seatwise.billing import charges, jobs, ledger
from seatwise.billing import service as billing
from seatwise.billing.models import Charge, CreditNote, Invoice, LedgerEntry
from seatwise.billing_run import service as billing_run
from seatwise.catalog import service as catalog
from seatwise.core.money import Money
from seatwise.core.roles import OPERATOR
from seatwise.i18n import format_money
from seatwise.licenses import service as licenses
from seatwise.organizations.models import Organization
from seatwise.payments.gateways import gateway_for
from seatwise.payments.models import Payment
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Subscription
from tests.conftest import T0
from tests.factories import add_method, run_billing, world

THIN = "\u2009"  # Babel puts thin spaces around the dash of a range that spans two months


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


NOV_2, DEC_1, JAN_1 = at(2026, 11, 2), at(2026, 12, 1), at(2027, 1, 1)


# --- helpers ----------------------------------------------------------------------------------


def _lines(s, invoice_id: int) -> list[tuple]:
    return [
        (c.kind, c.description, c.quantity, c.amount, c.period_start, c.period_end)
        for c in billing.lines_of(s, invoice_id=invoice_id)
    ]


def _totals(inv: Invoice) -> tuple:
    return (inv.total, inv.credit_applied, inv.amount_due, inv.refunded, inv.status)


def _pending(s, org_id: int) -> list[Charge]:
    return list(
        s.scalars(select(Charge).where(Charge.org_id == org_id, Charge.invoice_id.is_(None)).order_by(Charge.id))
    )


def _ledger(s, invoice_id: int) -> list[tuple]:
    return [
        (e.kind, e.amount, e.at)
        for e in s.scalars(select(LedgerEntry).where(LedgerEntry.invoice_id == invoice_id).order_by(LedgerEntry.id))
    ]


def _payments(s, invoice_id: int) -> list[tuple]:
    return [
        (p.kind, p.amount, p.status, p.failure_code, p.at, p.method_id)
        for p in s.scalars(select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.id))
    ]


def _notes(s, org_id: int) -> list[CreditNote]:
    return list(s.scalars(select(CreditNote).where(CreditNote.org_id == org_id).order_by(CreditNote.id)))


def _note_payments(s, note_id: int) -> list[tuple]:
    return [
        (p.kind, p.amount, p.status, p.invoice_id, p.at)
        for p in s.scalars(select(Payment).where(Payment.credit_note_id == note_id).order_by(Payment.id))
    ]


def _note_ledger(s, note_id: int) -> list[tuple]:
    return [
        (e.kind, e.amount, e.at)
        for e in s.scalars(select(LedgerEntry).where(LedgerEntry.credit_note_id == note_id).order_by(LedgerEntry.id))
    ]


def _assert_credits_settled(s, as_of: datetime) -> None:
    """R16: after a run up to `as_of`, no credit whose day has come is still pending or held by a credit note,
    and every invoiced credit was settled no later than its bill_on."""
    overdue = s.scalars(select(Charge).where(Charge.amount < 0, charges.UNBILLED, Charge.bill_on <= as_of)).all()
    assert overdue == []
    assert s.scalars(select(CreditNote).where(CreditNote.settle_on <= as_of)).all() == []
    for charge, billing_date in s.execute(
        select(Charge, Invoice.billing_date).join(Invoice, Invoice.id == Charge.invoice_id).where(Charge.amount < 0)
    ):
        assert billing_date <= charge.bill_on


def _add_product(s, *, sku: str, price: str, currency: str = "EUR", interval: str = "monthly") -> None:
    catalog.add_product(
        s,
        sku=sku,
        name=f"{sku} product",
        price=price,
        currency=currency,
        interval=interval,
        trial_days=30,
        max_seats=None,
        policy="standard",
        now=T0,
    )


# --- worked examples (R15, R16) --------------------------------------------------------------


def test_r15_r16_ten_licences_at_12_50_cancelled_on_day_3_credit_112_50_returned_by_period_end(uow):
    with uow() as s:
        w = world(s, now=T0, users=0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [first] = billing.list_invoices(s, org_id=w.org_id)
        # 10 licences × €12.50 = 12500 cents for the whole period 1–30 November, in advance (R3)
        assert (first.number, first.billing_date) == ("SW-2026-000001", NOV_2)
        assert _lines(s, first.id) == [
            ("period", "10 licences of BIZ product, 1–30 Nov 2026", 10, 12500, at(2026, 11, 1), DEC_1)
        ]
        assert _totals(first) == (12500, 0, 12500, 0, "paid")

    cancel_at = at(2026, 11, 3, 10)  # day 3 of a 30-day period
    with uow() as s:
        _, decision = subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=cancel_at)
        # credit = 12500 × (30 − 3) / 30 = 12500 × 27/30 = 11250 cents = €112.50, back by 1 December
        assert decision.credit == Money(11250, "EUR")
        assert format_money(decision.credit, "en") == "€112.50"
        assert decision.dates["credit_returned_by"] == DEC_1
        # it corrects the invoiced November: a credit note at once, of its own series (R25)
        [note] = _notes(s, w.org_id)
        assert (note.number, note.invoice_id, note.net, note.vat, note.total, note.settle_on) == (
            "SW-CN-2026-000001",
            first.id,
            11250,
            0,
            11250,
            DEC_1,
        )
        [credit] = s.scalars(select(Charge).where(Charge.credit_note_id == note.id)).all()
        assert _pending(s, w.org_id) == [credit]
        assert (
            credit.kind,
            credit.description,
            credit.amount,
            credit.period_start,
            credit.period_end,
            credit.bill_on,
        ) == (
            "cancellation",
            "Credit: cancellation, 10 licences × 27/30 days, 4–30 Nov 2026",
            -11250,
            at(2026, 11, 4),
            DEC_1,
            DEC_1,
        )

    run_billing(uow, as_of=DEC_1 - timedelta(seconds=1))
    with uow() as s:
        assert _note_payments(s, note.id) == []  # not due yet: it comes back *by* Dec 1
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        _assert_credits_settled(s, DEC_1)
        # no invoice for a credit alone: nothing to set it against, so all of it is refunded to the card
        assert len(billing.list_invoices(s, org_id=w.org_id)) == 1
        [note] = _notes(s, w.org_id)
        assert (note.spent, note.refunded, note.settle_on) == (0, 11250, None)
        assert _note_payments(s, note.id) == [("refund", 11250, "succeeded", first.id, DEC_1)]
        assert _note_ledger(s, note.id) == [("credit", -11250, cancel_at), ("refund", 11250, DEC_1)]
        assert ledger.check_ledger(s) == []


def test_r14_r15_r16_yen_three_seats_31_day_period_cancelled_on_day_10_credit_2032(uow):
    start = at(2026, 12, 1, 9, 30)  # December has 31 days
    with uow() as s:
        w = world(s, now=start, users=0, currency="JPY", price="1000")
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=3, actor=w.billing_admin, now=start)
    run_billing(uow, as_of=at(2026, 12, 2))
    with uow() as s:
        [first] = billing.list_invoices(s, org_id=w.org_id)
        # JPY has no minor unit: 3 × ¥1,000 = 3000
        assert (first.currency, first.total, first.amount_due) == ("JPY", 3000, 3000)
    with uow() as s:
        _, decision = subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=at(2026, 12, 10, 12))
        # credit = 3000 × (31 − 10) / 31 = 63000 / 31 = 2032.26 → 2032 (half up, once)
        assert decision.credit == Money(2032, "JPY")
        assert decision.credit.decimal_string() == "2032"
    run_billing(uow, as_of=JAN_1)
    with uow() as s:
        # the credit note comes back in the run at the period end, 1 January 2027 (sooner than a month)
        [note] = _notes(s, w.org_id)
        assert (note.number, note.currency, note.total, note.settle_on) == ("SW-CN-2026-000001", "JPY", 2032, None)
        assert [line.description for line in s.scalars(select(Charge).where(Charge.credit_note_id == note.id))] == [
            "Credit: cancellation, 3 licences × 21/31 days, 11–31 Dec 2026"
        ]
        assert [p[:3] + p[4:] for p in _note_payments(s, note.id)] == [("refund", 2032, "succeeded", JAN_1)]
        assert ledger.check_ledger(s) == []


def test_r3_started_31_january_2027_is_invoiced_28_february_then_31_march(uow):
    bought = at(2027, 1, 31, 15)
    with uow() as s:
        w = world(s, now=bought, users=0)
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=2, actor=w.billing_admin, now=bought)
    run_billing(uow, as_of=at(2027, 4, 1))
    with uow() as s:
        invoices = billing.list_invoices(s, org_id=w.org_id)
        # the first period is invoiced at the next midnight, 1 Feb; then each period on its first day:
        # February lacks a 31st so the anchor clamps to 28 Feb; March has one, so 31 Mar (R3)
        assert [(i.number, i.billing_date) for i in invoices] == [
            ("SW-2027-000001", at(2027, 2, 1)),
            ("SW-2027-000002", at(2027, 2, 28)),
            ("SW-2027-000003", at(2027, 3, 31)),
        ]
        # a monthly price is the same whatever the month's length: 2 × 1250 = 2500
        assert [_lines(s, i.id) for i in invoices] == [
            [
                (
                    "period",
                    f"2 licences of BIZ product, 31 Jan{THIN}–{THIN}27 Feb 2027",
                    2,
                    2500,
                    at(2027, 1, 31),
                    at(2027, 2, 28),
                )
            ],
            [
                (
                    "period",
                    f"2 licences of BIZ product, 28 Feb{THIN}–{THIN}30 Mar 2027",
                    2,
                    2500,
                    at(2027, 2, 28),
                    at(2027, 3, 31),
                )
            ],
            [
                (
                    "period",
                    f"2 licences of BIZ product, 31 Mar{THIN}–{THIN}29 Apr 2027",
                    2,
                    2500,
                    at(2027, 3, 31),
                    at(2027, 4, 30),
                )
            ],
        ]


def test_r14_kuwaiti_dinar_has_three_decimals_in_lines_and_credits(uow):
    start = at(2026, 12, 1, 9, 30)
    with uow() as s:
        w = world(s, now=start, users=0, currency="KWD", price="1.250")
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=3, actor=w.billing_admin, now=start)
    with uow() as s:
        # KWD 1.250 = 1250 fils; 3 seats = 3750 fils = KWD 3.750
        _, decision = subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=at(2026, 12, 10, 12))
        # day 10 of 31: 3750 × 21/31 = 78750/31 = 2540.32 → 2540 fils = KWD 2.540
        assert (decision.credit, decision.credit.decimal_string()) == (Money(2540, "KWD"), "2.540")
    run_billing(uow, as_of=JAN_1)
    with uow() as s:
        first, second = billing.list_invoices(s, org_id=w.org_id)
        assert (first.currency, first.total, Money(first.total, "KWD").decimal_string()) == ("KWD", 3750, "3.750")
        assert _totals(second) == (0, 0, 0, 2540, "paid")
        assert ledger.check_ledger(s) == []


# --- lines (R3, R12, R15) --------------------------------------------------------------------


def test_r3_r12_r15_period_in_advance_seats_bought_and_removed_mid_period_as_lines(uow):
    with uow() as s:
        w = world(s, now=T0, users=0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        # day 4: +5 seats, paid from day 4 to day 30 inclusive = 27 days: 5 × 1250 × 27/30 = 5625
        licenses.set_total(s, sub_id=sub.id, total=15, actor=w.billing_admin, now=at(2026, 11, 4, 10))
    with uow() as s:
        # day 20: −3 seats, credited for the days after day 20 (21–30) = 10 days: 3 × 1250 × 10/30 = 1250
        licenses.set_total(s, sub_id=sub.id, total=12, actor=w.global_admin, now=at(2026, 11, 20, 10))
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        _, dec = billing.list_invoices(s, org_id=w.org_id)
        assert (dec.number, dec.billing_date) == ("SW-2026-000002", DEC_1)
        assert _lines(s, dec.id) == [
            ("seats_added", "5 licences added × 27/30 days, 4–30 Nov 2026", 5, 5625, at(2026, 11, 4), DEC_1),
            # the renewal bills the whole of December in advance: 12 × 1250 = 15000
            ("period", "12 licences of BIZ product, 1–31 Dec 2026", 12, 15000, DEC_1, JAN_1),
        ]
        # charges 5625 + 15000 = 20625; the credit note of 1250 (R25: it corrects the invoiced November) pays
        # first; 20625 − 1250 = 19375 is charged to the card
        assert _totals(dec) == (20625, 0, 20625, 0, "paid")
        assert [p[:3] for p in _payments(s, dec.id)] == [("credit", 1250, "succeeded"), ("payment", 19375, "succeeded")]
        assert ledger.check_ledger(s) == []


def test_r15_round_half_up_once_per_line_not_per_seat(uow):
    feb_1 = at(2027, 2, 1, 10)  # February 2027 has 28 days
    with uow() as s:
        w = world(s, now=feb_1, users=0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=feb_1)
    with uow() as s:
        # day 21: −3 seats, credit for days 22–28 = 7 days: 3 × 1250 × 7/28 = 937.5 → 938
        licenses.set_total(s, sub_id=sub.id, total=7, actor=w.billing_admin, now=at(2027, 2, 21, 10))
    with uow() as s:
        # day 22: +3 seats, charged days 22–28 = 7 days: 937.5 → 938 (per seat it would be 3 × 313 = 939)
        licenses.set_total(s, sub_id=sub.id, total=10, actor=w.billing_admin, now=at(2027, 2, 22, 10))
    run_billing(uow, as_of=at(2027, 3, 1))
    with uow() as s:
        _, mar = billing.list_invoices(s, org_id=w.org_id)
        assert [(kind, desc, amount) for kind, desc, _, amount, _, _ in _lines(s, mar.id)] == [
            ("seats_removed", "Credit: 3 licences removed × 7/28 days, 22–28 Feb 2027", -938),
            ("seats_added", "3 licences added × 7/28 days, 22–28 Feb 2027", 938),
            ("period", "10 licences of BIZ product, 1–31 Mar 2027", 12500),
        ]
        # charges 938 + 12500 = 13438, credit 938 applied, 12500 due
        assert _totals(mar) == (13438, 938, 12500, 0, "paid")


def test_r15_lines_are_in_the_organisations_locale_dutch(uow):
    with uow() as s:
        w = world(s, now=T0, users=0, locale="nl")
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        licenses.set_total(s, sub_id=sub.id, total=15, actor=w.billing_admin, now=at(2026, 11, 4, 10))
    with uow() as s:
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=at(2026, 11, 20, 10))
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        nov, dec = billing.list_invoices(s, org_id=w.org_id)
        assert [line[1] for line in _lines(s, nov.id)] == ["10 licenties van BIZ product, 1–30 nov 2026"]
        # 5 × 1250 × 27/30 = 5625
        assert [(line[1], line[3]) for line in _lines(s, dec.id)] == [
            ("5 licenties erbij × 27/30 dagen, 4–30 nov 2026", 5625)
        ]
        # cancelled on day 20 with 15 seats: 15 × 1250 × 10/30 = 6250, a credit note correcting November
        [note] = _notes(s, w.org_id)
        assert [
            (c.description, c.amount) for c in s.scalars(select(Charge).where(Charge.credit_note_id == note.id))
        ] == [("Tegoed: opzegging, 15 licenties × 10/30 dagen, 21–30 nov 2026", -6250)]
        # the credit note pays all 5625 of December's invoice; 625 is refunded at the period end
        assert _totals(dec) == (5625, 0, 5625, 0, "paid")
        assert (note.invoice_id, note.spent, note.refunded) == (nov.id, 5625, 625)
        assert ledger.check_ledger(s) == []


@pytest.mark.parametrize(
    "locale, expected",
    [
        ("en", "1 licence of BIZ product, 1–30 Nov 2026"),
        ("nl", "1 licentie van BIZ product, 1–30 nov 2026"),
    ],
)
def test_r15_a_line_for_one_licence_says_licence_in_the_singular(uow, locale, expected):
    with uow() as s:
        w = world(s, now=T0, users=0, locale=locale)
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=1, actor=w.billing_admin, now=T0)
        [line] = _pending(s, w.org_id)
        assert line.description == expected


def test_r2_r3_a_converted_trial_is_invoiced_from_its_trial_end_and_nothing_before(uow):
    with uow() as s:
        w = world(s, now=T0, users=0)
        subscriptions.start_trial(s, org_id=w.org_id, sku=w.sku, seats=5, actor=w.global_admin, now=T0)
    run_billing(uow, as_of=DEC_1 - timedelta(seconds=1))
    with uow() as s:
        assert billing.list_invoices(s, org_id=w.org_id) == []  # a trial costs nothing
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        # 30 trial days from 1 Nov end at 1 Dec 00:00; first paid period 1–31 Dec: 5 × 1250 = 6250
        assert (invoice.number, invoice.billing_date) == ("SW-2026-000001", DEC_1)
        assert _lines(s, invoice.id) == [("period", "5 licences of BIZ product, 1–31 Dec 2026", 5, 6250, DEC_1, JAN_1)]
        assert _totals(invoice) == (6250, 0, 6250, 0, "paid")


def test_r6_r15_reactivating_a_cancelled_subscription_charges_the_days_left_and_nets_the_credit(uow):
    with uow() as s:
        w = world(s, now=T0, users=0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=at(2026, 11, 3, 10))  # credit 11250
    with uow() as s:
        # day 10, keeping the billing date: days 10–30 = 21 of 30: 12500 × 21/30 = 8750
        _, charge = subscriptions.reactivate(s, sub_id=sub.id, actor=w.billing_admin, now=at(2026, 11, 10, 10))
        assert charge.amount == Money(8750, "EUR")
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        _nov_2, nov_11, dec_1 = billing.list_invoices(s, org_id=w.org_id)
        assert nov_11.billing_date == at(2026, 11, 11)
        assert [(line[0], line[1], line[3]) for line in _lines(s, nov_11.id)] == [
            ("reactivation", "Reactivation, 10 licences × 21/30 days, 10–30 Nov 2026", 8750),
        ]
        # 8750 charged, all of it paid by the cancellation's credit note of 11250
        assert _totals(nov_11) == (8750, 0, 8750, 0, "paid")
        # recurring billing is on again: December renews on the old billing date, and the 11250 − 8750 = 2500
        # left (the 6 days 4–9 Nov it was off: 12500 × 6/30) pays part of it
        assert (dec_1.billing_date, dec_1.total) == (DEC_1, 12500)
        assert [p[:3] for p in _payments(s, dec_1.id)] == [
            ("credit", 2500, "succeeded"),
            ("payment", 10000, "succeeded"),
        ]
        [note] = _notes(s, w.org_id)
        assert (note.total, note.spent, note.refunded, note.settle_on) == (11250, 11250, 0, None)
        assert ledger.check_ledger(s) == []


def test_r6_reactivating_an_expired_subscription_starts_and_bills_a_new_whole_period(uow):
    with uow() as s:
        w = world(s, now=T0, users=0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
        subscriptions.set_recurring_billing(s, sub_id=sub.id, enabled=False, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=at(2026, 12, 10))
    with uow() as s:
        assert subscriptions.get(s, sub_id=sub.id).status == "expired"  # since 1 Dec
    with uow() as s:
        subscriptions.reactivate(s, sub_id=sub.id, actor=w.billing_admin, now=at(2026, 12, 10, 10))
    run_billing(uow, as_of=at(2027, 1, 10))
    with uow() as s:
        invoices = billing.list_invoices(s, org_id=w.org_id)
        # a new period from 10 Dec, billed whole (12500) at the next midnight; renewed 10 Jan
        assert [(i.billing_date, i.total) for i in invoices] == [
            (NOV_2, 12500),
            (at(2026, 12, 11), 12500),
            (at(2027, 1, 10), 12500),
        ]
        assert _lines(s, invoices[1].id) == [
            (
                "period",
                f"10 licences of BIZ product, 10 Dec 2026{THIN}–{THIN}9 Jan 2027",
                10,
                12500,
                at(2026, 12, 10),
                at(2027, 1, 10),
            )
        ]


# --- credit settlement (R16) -----------------------------------------------------------------


def test_r16_a_credit_goes_to_the_organisations_next_invoice_first_then_the_rest_is_due(uow):
    with uow() as s:
        w = world(s, now=T0, users=0)
        _add_product(s, sku="PRO", price="20.00")
        biz = subscriptions.buy(s, org_id=w.org_id, sku="BIZ", seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        # day 3 of BIZ: credit 12500 × 27/30 = 11250, due back by 1 December at the latest
        subscriptions.cancel(s, sub_id=biz.id, actor=w.billing_admin, now=at(2026, 11, 3, 10))
    with uow() as s:
        # 10 × €20.00 = 20000, period 10 Nov – 9 Dec, invoiced at the next midnight, 11 November
        subscriptions.buy(s, org_id=w.org_id, sku="PRO", seats=10, actor=w.billing_admin, now=at(2026, 11, 10, 12))
    run_billing(uow, as_of=at(2026, 11, 11))
    with uow() as s:
        _, nov_11 = billing.list_invoices(s, org_id=w.org_id)
        assert (nov_11.number, nov_11.billing_date) == ("SW-2026-000002", at(2026, 11, 11))
        assert [(kind, amount) for kind, _, _, amount, _, _ in _lines(s, nov_11.id)] == [("period", 20000)]
        # the credit note first: 20000 − 11250 = 8750, charged to the card
        assert _totals(nov_11) == (20000, 0, 20000, 0, "paid")
        assert [p[:3] for p in _payments(s, nov_11.id)] == [
            ("credit", 11250, "succeeded"),
            ("payment", 8750, "succeeded"),
        ]
        assert [(k, a) for k, a, _ in _ledger(s, nov_11.id)] == [("charge", 20000), ("payment", -8750)]
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        assert len(billing.list_invoices(s, org_id=w.org_id)) == 2  # nothing left to settle on 1 December
        _assert_credits_settled(s, DEC_1)
        assert ledger.check_ledger(s) == []


def test_r16_no_credit_outlives_its_settlement_run_over_months_of_changes(uow):
    with uow() as s:
        w = world(s, now=T0, users=0)
        _add_product(s, sku="PRO", price="7.99")
        a = subscriptions.buy(s, org_id=w.org_id, sku="BIZ", seats=20, actor=w.billing_admin, now=T0)
        b = subscriptions.buy(s, org_id=w.org_id, sku="PRO", seats=4, actor=w.billing_admin, now=T0)
    steps = [  # (when, action) interleaved with a run every few days
        (at(2026, 11, 5, 8), lambda s, t: licenses.set_total(s, sub_id=a.id, total=12, actor=w.billing_admin, now=t)),
        (at(2026, 11, 18, 8), lambda s, t: licenses.set_total(s, sub_id=b.id, total=9, actor=w.billing_admin, now=t)),
        (at(2026, 12, 7, 8), lambda s, t: licenses.set_total(s, sub_id=b.id, total=1, actor=w.billing_admin, now=t)),
        (at(2026, 12, 30, 8), lambda s, t: subscriptions.cancel(s, sub_id=a.id, actor=w.billing_admin, now=t)),
        (at(2027, 1, 2, 8), lambda s, t: subscriptions.cancel(s, sub_id=b.id, actor=w.billing_admin, now=t)),
    ]
    previous, day = T0, NOV_2
    while day <= at(2027, 1, 31):
        for when, action in steps:
            if previous <= when < day:
                with uow() as s:
                    action(s, when)
        run_billing(uow, as_of=day)
        with uow() as s:
            _assert_credits_settled(s, day)
            assert ledger.check_ledger(s) == []
        previous, day = day, day + timedelta(days=3)  # 2 Nov + 30 × 3 days = 31 Jan
    run_billing(uow, as_of=at(2027, 2, 1))
    with uow() as s:
        _assert_credits_settled(s, at(2027, 2, 1))
    with uow() as s:
        # the credits: 5 Nov, 8 BIZ seats × 1250 × 25/30 = 8333.3 → 8333; 7 Dec, 8 PRO seats × 799 × 24/31
        # = 4948.6 → 4949; 30 Dec, BIZ cancelled, 12 × 1250 × 1/31 = 483.9 → 484; 2 Jan, PRO cancelled,
        # 1 × 799 × 29/31 = 747.45 → 747; in all 8333 + 4949 + 484 + 747 = 14513
        credits = -sum(c.amount for c in s.scalars(select(Charge).where(Charge.amount < 0)))
        assert credits == 14513
        # every one came back (the last by 1 February): applied to an invoice, or as a credit note spent on
        # invoices or refunded
        settled = sum(i.credit_applied + i.refunded for i in billing.list_invoices(s, org_id=w.org_id))
        settled += sum(note.spent + note.refunded for note in _notes(s, w.org_id))
        assert settled == credits


# --- invoices (R17) --------------------------------------------------------------------------


def test_r17_two_subscriptions_renewing_on_the_same_day_share_one_invoice(uow):
    with uow() as s:
        w = world(s, now=T0, users=0)
        _add_product(s, sku="PRO", price="20.00")
        subscriptions.buy(s, org_id=w.org_id, sku="BIZ", seats=10, actor=w.billing_admin, now=T0)
        subscriptions.buy(s, org_id=w.org_id, sku="PRO", seats=3, actor=w.billing_admin, now=at(2026, 11, 1, 14))
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        invoices = billing.list_invoices(s, org_id=w.org_id)
        assert [(i.number, i.billing_date) for i in invoices] == [("SW-2026-000001", NOV_2), ("SW-2026-000002", DEC_1)]
        # BIZ 10 × 1250 = 12500 and PRO 3 × 2000 = 6000 on each: total 18500
        for invoice in invoices:
            assert [(line[1], line[3]) for line in _lines(s, invoice.id)] == [
                (
                    f"10 licences of BIZ product, {'1–30 Nov' if invoice.billing_date == NOV_2 else '1–31 Dec'} 2026",
                    12500,
                ),
                (
                    f"3 licences of PRO product, {'1–30 Nov' if invoice.billing_date == NOV_2 else '1–31 Dec'} 2026",
                    6000,
                ),
            ]
            assert _totals(invoice) == (18500, 0, 18500, 0, "paid")


def test_r17_numbers_are_gapless_across_organisations_and_runs_and_restart_each_year(uow):
    with uow() as s:
        contoso = world(s, now=T0, users=0, name="Contoso", sku="BIZ")
        fabrikam = world(s, now=T0, users=0, name="Fabrikam", sku="FAB")
        northwind = world(s, now=T0, users=0, name="Northwind", sku="NW", currency="JPY", price="900")
        subscriptions.buy(s, org_id=contoso.org_id, sku="BIZ", seats=1, actor=OPERATOR, now=T0)
    with uow() as s:
        subscriptions.buy(s, org_id=fabrikam.org_id, sku="FAB", seats=2, actor=OPERATOR, now=at(2026, 11, 15, 10))
    run_billing(uow, as_of=at(2026, 11, 20))
    with uow() as s:
        subscriptions.buy(s, org_id=northwind.org_id, sku="NW", seats=3, actor=OPERATOR, now=at(2026, 12, 20, 10))
    for as_of in (at(2026, 12, 25), at(2027, 1, 10), at(2027, 2, 5)):
        run_billing(uow, as_of=as_of)
    names = {contoso.org_id: "Contoso", fabrikam.org_id: "Fabrikam", northwind.org_id: "Northwind"}
    with uow() as s:
        invoices = s.scalars(select(Invoice).order_by(Invoice.id)).all()
        # Contoso renews on the 1st, Fabrikam on the 15th, Northwind on the 20th; first periods are
        # invoiced the midnight after purchase (2 Nov, 16 Nov, 21 Dec)
        assert [(i.number, names[i.org_id], i.billing_date) for i in invoices] == [
            ("SW-2026-000001", "Contoso", at(2026, 11, 2)),
            ("SW-2026-000002", "Fabrikam", at(2026, 11, 16)),
            ("SW-2026-000003", "Contoso", at(2026, 12, 1)),
            ("SW-2026-000004", "Fabrikam", at(2026, 12, 15)),
            ("SW-2026-000005", "Northwind", at(2026, 12, 21)),
            ("SW-2027-000001", "Contoso", at(2027, 1, 1)),
            ("SW-2027-000002", "Fabrikam", at(2027, 1, 15)),
            ("SW-2027-000003", "Northwind", at(2027, 1, 20)),
            ("SW-2027-000004", "Contoso", at(2027, 2, 1)),
        ]


def _frozen(s, invoice_id: int) -> tuple:
    """Everything of an issued invoice that must never change, its lines and its ledger entries."""
    s.expire_all()
    i = s.get(Invoice, invoice_id)
    head = (
        i.number,
        i.org_id,
        i.billing_date,
        i.issued_at,
        i.due_at,
        i.currency,
        i.total,
        i.credit_applied,
        i.amount_due,
        i.refunded,
        i.payment_method_id,
        i.status,
        i.paid_at,
    )
    lines = [
        (
            c.id,
            c.subscription_id,
            c.kind,
            c.description,
            c.quantity,
            c.amount,
            c.currency,
            c.period_start,
            c.period_end,
            c.created_at,
            c.bill_on,
            c.key,
        )
        for c in billing.lines_of(s, invoice_id=invoice_id)
    ]
    ledger = [
        (e.id, e.kind, e.amount, e.at, e.payment_id)
        for e in s.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.invoice_id == invoice_id, LedgerEntry.credit_note_id.is_(None))  # its own entries
            .order_by(LedgerEntry.id)
        )
    ]
    return head, lines, ledger


def test_r17_r18_issued_invoices_and_ledger_entries_never_change_afterwards(uow):
    with uow() as s:
        w = world(s, now=T0, users=0)
        _add_product(s, sku="PRO", price="20.00")
        biz = subscriptions.buy(s, org_id=w.org_id, sku="BIZ", seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [first] = billing.list_invoices(s, org_id=w.org_id)
        before = _frozen(s, first.id)
    with uow() as s:
        licenses.set_total(s, sub_id=biz.id, total=15, actor=w.billing_admin, now=at(2026, 11, 4, 10))
    with uow() as s:
        licenses.set_total(s, sub_id=biz.id, total=12, actor=w.billing_admin, now=at(2026, 11, 20, 10))
    with uow() as s:
        pro = subscriptions.buy(s, org_id=w.org_id, sku="PRO", seats=2, actor=w.billing_admin, now=at(2026, 11, 25))
    run_billing(uow, as_of=at(2026, 12, 5))
    with uow() as s:
        second = billing.list_invoices(s, org_id=w.org_id)[1]
        before_second = _frozen(s, second.id)
    with uow() as s:
        subscriptions.cancel(s, sub_id=biz.id, actor=w.billing_admin, now=at(2026, 12, 5, 10))
        subscriptions.cancel(s, sub_id=pro.id, actor=w.billing_admin, now=at(2026, 12, 6, 10))
    with uow() as s:
        subscriptions.reactivate(s, sub_id=biz.id, actor=w.billing_admin, now=at(2026, 12, 8, 10))
    run_billing(uow, as_of=at(2027, 2, 1))
    with uow() as s:
        assert len(billing.list_invoices(s, org_id=w.org_id)) > 3
        assert _frozen(s, first.id) == before
        assert _frozen(s, second.id) == before_second
        assert ledger.check_ledger(s) == []


# --- the ledger (R18) ------------------------------------------------------------------------


def _books(uow):
    """Two organisations with every kind of ledger entry: charges, payments, a credit and its refund,
    and an open pay-by-invoice invoice."""
    with uow() as s:
        card = world(s, now=T0, users=0, name="Contoso", sku="BIZ")
        transfer = world(s, now=T0, users=0, name="Fabrikam", sku="FAB", card=False)
        add_method(s, org_id=transfer.org_id, card_number=None, expiry=None, invoice=True, actor=OPERATOR, now=T0)
        sub = subscriptions.buy(s, org_id=card.org_id, sku="BIZ", seats=10, actor=OPERATOR, now=T0)
        subscriptions.buy(s, org_id=transfer.org_id, sku="FAB", seats=4, actor=OPERATOR, now=T0)
    with uow() as s:
        subscriptions.cancel(s, sub_id=sub.id, actor=OPERATOR, now=at(2026, 11, 3, 10))
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        assert ledger.check_ledger(s) == []
    return card.org_id, transfer.org_id


def _row_id(s, query) -> int:
    return s.scalar(query.limit(1))


@pytest.mark.parametrize(
    "tamper",
    [
        "ledger_amount",
        "ledger_row_deleted",
        "invoice_total",
        "invoice_vat",
        "invoice_amount_due",
        "invoice_marked_paid",
        "line_amount",
        "refund_amount",
    ],
)
def test_r18_check_ledger_finds_a_row_tampered_with_in_sql(uow, tamper):
    card_org, transfer_org = _books(uow)
    # Contoso: Nov 2 invoice 12500 paid; Dec 1 invoice: credit 11250 refunded. Fabrikam: its Nov 2
    # invoice of 4 × 1250 = 5000 is open (net 30), and so is its Dec 1 renewal of 5000.
    with uow() as s:
        paid_invoice = _row_id(s, select(Invoice.id).where(Invoice.org_id == card_org).order_by(Invoice.id))
        open_invoice = _row_id(s, select(Invoice.id).where(Invoice.org_id == transfer_org).order_by(Invoice.id))
        sql, params, org = {
            "ledger_amount": (
                "UPDATE ledger SET amount = amount - 1 WHERE id = :id",
                _row_id(s, select(LedgerEntry.id).where(LedgerEntry.kind == "payment")),
                card_org,
            ),
            "ledger_row_deleted": (
                "DELETE FROM ledger WHERE id = :id",
                _row_id(s, select(LedgerEntry.id).where(LedgerEntry.kind == "refund")),
                card_org,
            ),
            "invoice_total": ("UPDATE invoices SET total = total + 100 WHERE id = :id", paid_invoice, card_org),
            "invoice_vat": ("UPDATE invoices SET vat = vat + 1 WHERE id = :id", paid_invoice, card_org),
            "invoice_amount_due": (
                "UPDATE invoices SET amount_due = amount_due - 1 WHERE id = :id",
                open_invoice,
                transfer_org,
            ),
            "invoice_marked_paid": ("UPDATE invoices SET status = 'paid' WHERE id = :id", open_invoice, transfer_org),
            "line_amount": (
                "UPDATE charges SET amount = amount + 1 WHERE id = :id",
                _row_id(s, select(Charge.id).where(Charge.invoice_id == paid_invoice)),
                card_org,
            ),
            "refund_amount": (
                "UPDATE payments SET amount = amount + 1 WHERE id = :id",
                _row_id(s, select(Payment.id).where(Payment.kind == "refund")),
                card_org,
            ),
        }[tamper]
        assert params is not None
        s.execute(text(sql), {"id": params})
    with uow() as s:
        problems = ledger.check_ledger(s)
    assert problems and {p.org_id for p in problems} == {org}
    if tamper == "ledger_amount":  # the payment entry of 12500 made 12501: the books owe −1
        assert problems == [
            ledger.Imbalance(card_org, "ledger balance vs open invoices", 0, -1),
            ledger.Imbalance(card_org, "invoice SW-2026-000001: ledger payment vs payments", -12500, -12501),
        ]
    if tamper == "invoice_total":  # 12600 claimed, 12500 in lines and in amount due
        assert [(p.what, p.expected, p.found) for p in problems] == [
            ("invoice SW-2026-000001: net + VAT vs total − credit − leftover", 12600, 12500),
            ("invoice SW-2026-000001: amount due vs total − credit", 12600, 12500),
        ]
    if tamper == "invoice_vat":  # 1 of VAT claimed that neither the total nor the ledger has
        assert [(p.what, p.expected, p.found) for p in problems] == [
            ("invoice SW-2026-000001: net + VAT vs total − credit − leftover", 12500, 12501),
            ("invoice SW-2026-000001: ledger VAT vs VAT", 1, 0),
        ]


def test_r18_check_ledger_finds_entries_that_disagree_with_their_invoice_even_when_they_cancel_out(uow):
    card_org, _ = _books(uow)
    with uow() as s:
        first = _row_id(s, select(Invoice.id).where(Invoice.org_id == card_org).order_by(Invoice.id))
        s.execute(
            text("UPDATE ledger SET amount = amount + 5 WHERE invoice_id = :id AND kind = 'charge'"), {"id": first}
        )
        s.execute(
            text("UPDATE ledger SET amount = amount - 5 WHERE invoice_id = :id AND kind = 'payment'"), {"id": first}
        )
    with uow() as s:
        # the ledger now says 12505 was charged and 12505 paid; the invoice and the payment say 12500
        assert ledger.check_ledger(s) != []


# --- the billing run (R20) -------------------------------------------------------------------


def _story(uow) -> None:
    """Three organisations and their actions up to mid-January; no billing run yet."""
    with uow() as s:
        contoso = world(s, now=T0, users=0, name="Contoso", sku="BIZ")
        _add_product(s, sku="PRO", price="20.00")
        fabrikam = world(s, now=T0, users=0, name="Fabrikam", sku="FAB", card=False)
        add_method(
            s,
            org_id=fabrikam.org_id,
            card_number="4000000000000002",
            expiry="12/30",
            invoice=False,
            actor=OPERATOR,
            now=T0,
        )
        northwind = world(s, now=T0, users=0, name="Northwind", sku="NW", currency="JPY", price="1000", card=False)
        add_method(s, org_id=northwind.org_id, card_number=None, expiry=None, invoice=True, actor=OPERATOR, now=T0)
        biz = subscriptions.buy(s, org_id=contoso.org_id, sku="BIZ", seats=10, actor=OPERATOR, now=T0)
        subscriptions.buy(s, org_id=fabrikam.org_id, sku="FAB", seats=2, actor=OPERATOR, now=T0)
    with uow() as s:
        licenses.set_total(s, sub_id=biz.id, total=15, actor=OPERATOR, now=at(2026, 11, 4, 10))
        pro = subscriptions.buy(s, org_id=contoso.org_id, sku="PRO", seats=3, actor=OPERATOR, now=at(2026, 11, 10, 12))
    with uow() as s:
        subscriptions.cancel(s, sub_id=pro.id, actor=OPERATOR, now=at(2026, 11, 12, 10))
        subscriptions.buy(s, org_id=northwind.org_id, sku="NW", seats=3, actor=OPERATOR, now=at(2026, 11, 15, 10))
    with uow() as s:
        licenses.set_total(s, sub_id=biz.id, total=11, actor=OPERATOR, now=at(2026, 11, 25, 10))


def _snapshot(s) -> dict:
    """Everything the billing run wrote, keyed by names and numbers rather than by ids."""
    orgs = {o.id: o.name for o in s.scalars(select(Organization))}
    subs = {sub.id: (orgs[sub.org_id], sub.created_at) for sub in s.scalars(select(Subscription))}
    numbers = {i.id: i.number for i in s.scalars(select(Invoice))}
    return {
        "invoices": [
            (
                i.number,
                orgs[i.org_id],
                i.billing_date,
                i.issued_at,
                i.due_at,
                i.currency,
                i.total,
                i.credit_applied,
                i.amount_due,
                i.refunded,
                i.status,
                i.paid_at,
                i.attempts,
                i.next_action_at,
                [
                    (
                        subs[c.subscription_id],
                        c.kind,
                        c.description,
                        c.quantity,
                        c.amount,
                        c.period_start,
                        c.period_end,
                        c.bill_on,
                    )
                    for c in billing.lines_of(s, invoice_id=i.id)
                ],
            )
            for i in s.scalars(select(Invoice).order_by(Invoice.id))
        ],
        "pending": [
            (subs[c.subscription_id], c.kind, c.amount, c.bill_on)
            for c in s.scalars(select(Charge).where(Charge.invoice_id.is_(None)).order_by(Charge.id))
        ],
        # By content: a card's outcome is written when the gateway answers, after the step that asked (R32).
        "ledger": sorted(
            (orgs[e.org_id], numbers[e.invoice_id], e.kind, e.amount, e.currency, e.at)
            for e in s.scalars(select(LedgerEntry))
        ),
        "payments": sorted(
            (
                orgs[p.org_id],
                numbers[p.invoice_id],
                p.kind,
                p.amount,
                p.status,
                p.failure_code or "",
                "-".join((p.key or "").split("-")[3:]),
                p.at,
            )
            for p in s.scalars(select(Payment))
        ),
        "subscriptions": [
            (
                subs[x.id],
                x.status,
                x.status_reason,
                x.seats,
                x.current_period_start,
                x.current_period_end,
                x.state_until,
                x.next_event_at,
            )
            for x in s.scalars(select(Subscription).order_by(Subscription.id))
        ],
    }


def _empty(db_url: str) -> None:
    with db.engine_for(db_url).begin() as conn:
        for table in reversed(db.Base.metadata.sorted_tables):
            conn.execute(table.delete())


END = at(2027, 1, 20)


def test_r20_a_second_run_for_the_same_as_of_creates_nothing(uow):
    _story(uow)
    first = run_billing(uow, as_of=END)
    with uow() as s:
        once = _snapshot(s)
        counts = [s.scalar(select(func.count()).select_from(t)) for t in (Charge, Invoice, LedgerEntry, Payment)]
    second = run_billing(uow, as_of=END)
    with uow() as s:
        assert (second.invoices, second.subscriptions, sum(second.payments.values())) == (0, 0, 0)
        assert [
            s.scalar(select(func.count()).select_from(t)) for t in (Charge, Invoice, LedgerEntry, Payment)
        ] == counts
        assert _snapshot(s) == once
        assert first.invoices == len(once["invoices"]) > 0
        # each period is charged once: one period line per subscription and period start
        periods = Counter(
            (c.subscription_id, c.period_start) for c in s.scalars(select(Charge).where(Charge.kind == "period"))
        )
        assert periods and set(periods.values()) == {1}
        # and billing that period again directly is refused by its unique key
        biz = s.scalar(select(Subscription).order_by(Subscription.id).limit(1))
        period = subscriptions.lifecycle_of(biz).current_period
        assert charges.bill_period(s, sub=biz, period=period, product_name="BIZ product", at=END) is None


def test_r20_stepping_day_by_day_or_in_small_commits_equals_one_run(uow, db_url):
    _story(uow)
    run_billing(uow, as_of=END)
    with uow() as s:
        one_run = _snapshot(s)
    # Contoso pays by card and renews on the 1st (its PRO was bought 10 Nov, cancelled 12 Nov); Fabrikam's
    # card is declined: disabled on 2 Dec, 30 days after its first invoice; Northwind pays by invoice,
    # net 30: its 16 Nov invoice disables it on 15 Jan, after that day's renewal.
    assert [(i[0], i[1], i[2]) for i in one_run["invoices"]] == [
        ("SW-2026-000001", "Contoso", NOV_2),
        ("SW-2026-000002", "Fabrikam", NOV_2),
        ("SW-2026-000003", "Contoso", at(2026, 11, 11)),
        ("SW-2026-000004", "Northwind", at(2026, 11, 16)),
        ("SW-2026-000005", "Contoso", DEC_1),
        ("SW-2026-000006", "Fabrikam", DEC_1),
        ("SW-2026-000007", "Northwind", at(2026, 12, 15)),
        ("SW-2027-000001", "Contoso", JAN_1),
        ("SW-2027-000002", "Northwind", at(2027, 1, 15)),
    ]
    assert [sub[1:3] for sub in one_run["subscriptions"]] == [
        ("active", None),
        ("disabled", "non_payment"),
        ("disabled", "canceled"),
        ("disabled", "non_payment"),
    ]

    _empty(db_url)
    _story(uow)
    day = NOV_2
    while day <= END:
        run_billing(uow, as_of=day)
        with uow() as s:
            _assert_credits_settled(s, day)
            assert ledger.check_ledger(s) == []
        day += timedelta(days=1)
    with uow() as s:
        assert _snapshot(s) == one_run

    _empty(db_url)
    _story(uow)
    done = False
    while not done:  # one piece of work per transaction, as a run killed and restarted would
        with uow() as s:
            done = billing_run.run_step(s, as_of=END, limit=1).done
        jobs.collect(db_url, gateway=gateway_for(db_url))
    with uow() as s:
        assert _snapshot(s) == one_run
