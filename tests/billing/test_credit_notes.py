"""Credit notes (R16, R25): issued at once with the VAT of the charge they correct, in their own gapless series,
spent on the invoices that follow, and what is left refunded within a month, on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from seatwise.billing import credit_notes, ledger
from seatwise.billing import service as billing
from seatwise.billing.models import CreditNote, CreditNoteCounter
from seatwise.core.roles import OPERATOR
from seatwise.payments.models import Payment
from seatwise.subscriptions import service as subscriptions
from seatwise.tax import service as tax
from tests.billing.test_vat import VENDOR
from tests.factories import run_billing, world


def day(y: int, m: int, d: int, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), ROUND_HALF_UP))


def test_r16_r25_an_annual_subscription_cancelled_on_day_3_gets_its_credit_note_at_once_and_its_refund_in_a_month(
    uow,
):
    bought, cancelled = day(2026, 11, 24, 9), day(2026, 11, 26, 10)
    with uow() as s:
        tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=bought)
        w = world(s, now=bought, users=0, price="396.00", period="annual")
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=bought)
    run_billing(uow, as_of=day(2026, 11, 25))
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        assert (invoice.net, invoice.total) == (396000, 396000 + _half_up(Decimal(396000) * Decimal("0.21")))
    # 24 Nov 2026 – 24 Nov 2027 is 365 days; 26 November is day 3, so 362 of them come back
    net = _half_up(Decimal(10 * 39600 * 362) / 365)
    vat = _half_up(Decimal(net) * Decimal("0.21"))
    month_later = day(2026, 12, 26)
    with uow() as s:
        decision = subscriptions.cancellation_decision(
            s, sub=subscriptions.get(s, sub_id=sub.id), actor=w.billing_admin, now=cancelled
        )
        # the preview names the day it comes back: a month on, not the end of the year (R16)
        assert (decision.credit.amount, decision.credit_vat.amount) == (net, vat) == (392745, 82476)
        assert decision.dates["credit_returned_by"] == month_later
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=cancelled)
    with uow() as s:
        [note] = credit_notes.list_credit_notes(s, org_id=w.org_id)
        assert (note.number, note.invoice_id, note.issued_at) == ("SW-CN-2026-000001", invoice.id, cancelled)
        assert (note.net, note.vat, note.total, note.settle_on) == (net, vat, net + vat, month_later)
        [line] = credit_notes.lines_of(s, credit_note_id=note.id)
        assert (line.amount, line.vat_category, line.vat_rate, line.invoice_id) == (-net, "S", "21", None)
    run_billing(uow, as_of=month_later - timedelta(seconds=1))
    with uow() as s:
        assert s.scalars(select(Payment).where(Payment.credit_note_id == note.id)).all() == []
    run_billing(uow, as_of=month_later)
    with uow() as s:
        [refund] = s.scalars(select(Payment).where(Payment.credit_note_id == note.id)).all()
        assert (refund.kind, refund.amount, refund.status, refund.at) == ("refund", net + vat, "succeeded", month_later)
        settled = s.get(CreditNote, note.id)
        assert (settled.spent, settled.refunded, settled.settle_on) == (0, net + vat, None)
        assert len(billing.list_invoices(s, org_id=w.org_id)) == 1  # a credit alone is no invoice
        assert ledger.check_ledger(s) == []


def test_r16_r25_a_credit_note_pays_the_invoices_issued_before_its_day_and_only_the_rest_is_refunded(uow):
    with uow() as s:
        tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=day(2026, 11, 1))
        w = world(s, now=day(2026, 11, 1, 9), users=0)
        other = world(s, now=day(2026, 11, 1, 9), users=0, name="Other", sku="OTH", price="100.00", period="annual")
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=day(2026, 11, 1, 9))
        subscriptions.buy(s, org_id=w.org_id, sku=other.sku, seats=1, actor=w.billing_admin, now=day(2026, 11, 1, 9))
    run_billing(uow, as_of=day(2026, 11, 2))
    with uow() as s:
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=day(2026, 11, 3, 10))
        # 27/30 of 12500 = 11250 + 21 % (2362.5 → 2363) = 13613, back by 1 December, the period's end
        [note] = credit_notes.list_credit_notes(s, org_id=w.org_id)
        assert (note.total, note.settle_on) == (13613, day(2026, 12, 1))
    with uow() as s:  # 2 licences bought on 10 November: invoiced on the 11th, paid first by the credit note
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=2, actor=w.billing_admin, now=day(2026, 11, 10, 12))
    run_billing(uow, as_of=day(2026, 12, 1))
    with uow() as s:
        _, nov_11 = billing.list_invoices(s, org_id=w.org_id)
        assert nov_11.total == 2500 + 525
        paid = [(p.kind, p.amount) for p in s.scalars(select(Payment).where(Payment.invoice_id == nov_11.id))]
        assert paid == [("credit", 3025)]
        settled = s.get(CreditNote, note.id)
        assert (settled.spent, settled.refunded, settled.settle_on) == (3025, 13613 - 3025, None)
        assert ledger.check_ledger(s) == []


def test_r25_credit_notes_have_their_own_gapless_series_per_year_apart_from_invoices(uow):
    with uow() as s:
        tax.set_vendor(s, **{**VENDOR, "invoice_prefix": "ACME"}, actor_label=OPERATOR.label, now=day(2026, 12, 1))
        w = world(s, now=day(2026, 12, 1, 9), users=0)
        subs = [
            subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=2, actor=w.billing_admin, now=day(2026, 12, 1, 9))
            for _ in range(3)
        ]
    run_billing(uow, as_of=day(2026, 12, 2))
    for sub, when in zip(subs, (day(2026, 12, 20), day(2026, 12, 30), day(2027, 1, 2, 10)), strict=True):
        run_billing(uow, as_of=when - timedelta(hours=1))  # each corrects an invoiced period
        with uow() as s:
            subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=when)
    with uow() as s:
        numbers = [note.number for note in credit_notes.list_credit_notes(s, org_id=w.org_id)]
        assert numbers == ["ACME-CN-2026-000001", "ACME-CN-2026-000002", "ACME-CN-2027-000001"]
        assert all(re.fullmatch(r"ACME-CN-\d{4}-\d{6}", n) for n in numbers)
        assert dict(s.execute(select(CreditNoteCounter.year, CreditNoteCounter.last)).all()) == {2026: 2, 2027: 1}
        invoices = [invoice.number for invoice in billing.list_invoices(s, org_id=w.org_id)]
        assert invoices == ["ACME-2026-000001", "ACME-2027-000001"]  # the invoices' own series, untouched


def test_r16_r32_two_credit_notes_settled_in_one_run_never_refund_more_than_a_charge_holds(uow):
    with uow() as s:
        tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=day(2026, 11, 1))
        w = world(s, now=day(2026, 11, 1, 9), users=0, price="100.00", period="annual")
        first = subscriptions.buy(
            s, org_id=w.org_id, sku=w.sku, seats=1, actor=w.billing_admin, now=day(2026, 11, 1, 9)
        )
    run_billing(uow, as_of=day(2026, 11, 2))
    with uow() as s:
        second = subscriptions.buy(
            s, org_id=w.org_id, sku=w.sku, seats=1, actor=w.billing_admin, now=day(2026, 11, 2, 9)
        )
    run_billing(uow, as_of=day(2026, 11, 3))
    with uow() as s:  # both annual, both cancelled on 5 November: both settle on 5 December, in one step
        for sub in (first, second):
            subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=day(2026, 11, 5, 10))
    run_billing(uow, as_of=day(2026, 12, 5))
    with uow() as s:
        charged = {
            p.reference: p.amount
            for p in s.scalars(select(Payment).where(Payment.kind == "payment", Payment.status == "succeeded"))
        }
        refunded: dict[str, int] = {}
        for p in s.scalars(select(Payment).where(Payment.kind == "refund")):
            assert p.status == "succeeded", p.failure_code
            refunded[p.refunds] = refunded.get(p.refunds, 0) + p.amount
        assert all(refunded[ref] <= charged[ref] for ref in refunded), (refunded, charged)
        notes = credit_notes.list_credit_notes(s, org_id=w.org_id)
        assert sum(refunded.values()) == sum(note.total for note in notes)
        assert [note.settle_on for note in notes] == [None, None]
        assert ledger.check_ledger(s) == []
